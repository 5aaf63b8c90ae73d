import Foundation

/// Painting primitives on a `RasterImage`, in pixel coordinates (pixel (i, j) covers
/// [i, i+1) × [j, j+1)). Every primitive honours the clip rectangle. Strokes and discs are
/// anti-aliased by distance coverage; rectangles, polygons and glyphs are sampled at pixel centres.
/// `Int(v)` for coordinates that may be far outside the image (data far beyond the axis limits).
@inline(__always)
func pixelInt(_ v: Double) -> Int { Int(min(max(v, -1e9), 1e9)) }

struct Canvas {
    var image: RasterImage
    /// Clip rectangle: columns clipX0..<clipX1, rows clipY0..<clipY1.
    private(set) var clipX0 = 0, clipY0 = 0, clipX1: Int, clipY1: Int
    /// Per-pixel stroke coverage, kept at zero between strokes (so joints do not double-blend).
    private var coverage: [Float]

    init(width: Int, height: Int, background: RGB) {
        image = RasterImage(width: width, height: height, background: background)
        clipX1 = image.width
        clipY1 = image.height
        coverage = [Float](repeating: 0, count: image.width * image.height)
    }

    mutating func setClip(x0: Double, y0: Double, x1: Double, y1: Double) {
        clipX0 = max(0, Int(x0.rounded()))
        clipY0 = max(0, Int(y0.rounded()))
        clipX1 = min(image.width, Int(x1.rounded()))
        clipY1 = min(image.height, Int(y1.rounded()))
    }

    mutating func resetClip() {
        (clipX0, clipY0, clipX1, clipY1) = (0, 0, image.width, image.height)
    }

    @inline(__always)
    private static func blend(_ p: UnsafeMutablePointer<UInt8>, _ c: RGB, _ a: Float) {
        guard a > 0 else { return }   // also NaN: nothing to draw
        if a >= 0.999 {
            p[0] = c.r
            p[1] = c.g
            p[2] = c.b
        } else {
            p[0] = UInt8(Float(p[0]) + (Float(c.r) - Float(p[0])) * a + 0.5)
            p[1] = UInt8(Float(p[1]) + (Float(c.g) - Float(p[1])) * a + 0.5)
            p[2] = UInt8(Float(p[2]) + (Float(c.b) - Float(p[2])) * a + 0.5)
        }
    }

    /// Fills the pixels whose centres lie in [x0, x1) × [y0, y1).
    mutating func fillRect(x0: Double, y0: Double, x1: Double, y1: Double, color: RGB, alpha: Double = 1) {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else { return }
        let ix0 = max(clipX0, pixelInt(min(x0, x1).rounded())), ix1 = min(clipX1, pixelInt(max(x0, x1).rounded()))
        let iy0 = max(clipY0, pixelInt(min(y0, y1).rounded())), iy1 = min(clipY1, pixelInt(max(y0, y1).rounded()))
        guard ix0 < ix1, iy0 < iy1 else { return }
        let a = Float(alpha), w = image.width
        image.pixels.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            for y in iy0..<iy1 {
                var p = base + (y * w + ix0) * 4
                for _ in ix0..<ix1 {
                    Canvas.blend(p, color, a)
                    p += 4
                }
            }
        }
    }

    /// Even-odd scanline fill, sampled at pixel centres.
    mutating func fillPolygon(_ points: [Point], color: RGB, alpha: Double = 1) {
        let pts = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard pts.count >= 3 else { return }
        let minY = pts.map(\.y).min()!, maxY = pts.map(\.y).max()!
        let y0 = max(clipY0, pixelInt((minY - 0.5).rounded(.up))), y1 = min(clipY1, pixelInt((maxY - 0.5).rounded(.up)))
        guard y0 < y1 else { return }
        let a = Float(alpha), w = image.width, cx0 = clipX0, cx1 = clipX1
        var crossings: [Double] = []
        image.pixels.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            for y in y0..<y1 {
                let yc = Double(y) + 0.5
                crossings.removeAll(keepingCapacity: true)
                var j = pts.count - 1
                for i in 0..<pts.count {
                    let p = pts[i], q = pts[j]
                    if (p.y <= yc) != (q.y <= yc) {
                        crossings.append(p.x + (yc - p.y) / (q.y - p.y) * (q.x - p.x))
                    }
                    j = i
                }
                crossings.sort()
                var k = 0
                while k + 1 < crossings.count {
                    let xa = max(cx0, pixelInt((crossings[k] - 0.5).rounded(.up)))
                    let xb = min(cx1, pixelInt((crossings[k + 1] - 0.5).rounded(.up)))
                    if xa < xb {
                        var p = base + (y * w + xa) * 4
                        for _ in xa..<xb {
                            Canvas.blend(p, color, a)
                            p += 4
                        }
                    }
                    k += 2
                }
            }
        }
    }

    /// An anti-aliased filled disc.
    mutating func fillDisc(cx: Double, cy: Double, radius r: Double, color: RGB, alpha: Double = 1) {
        guard cx.isFinite, cy.isFinite, r > 0 else { return }
        let x0 = max(clipX0, pixelInt(floor(cx - r - 1))), x1 = min(clipX1, pixelInt(ceil(cx + r + 1)))
        let y0 = max(clipY0, pixelInt(floor(cy - r - 1))), y1 = min(clipY1, pixelInt(ceil(cy + r + 1)))
        guard x0 < x1, y0 < y1 else { return }
        let w = image.width
        image.pixels.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            for y in y0..<y1 {
                let dy = Double(y) + 0.5 - cy
                for x in x0..<x1 {
                    let dx = Double(x) + 0.5 - cx
                    let c = min(1, r + 0.5 - (dx * dx + dy * dy).squareRoot())
                    if c > 0 { Canvas.blend(base + (y * w + x) * 4, color, Float(c * alpha)) }
                }
            }
        }
    }

    /// An anti-aliased polyline with round joins and caps; `dash` is (on, off, …) in pixels.
    mutating func stroke(_ points: [Point], width: Double, color: RGB, alpha: Double = 1, dash: [Double]? = nil) {
        guard !points.isEmpty, width > 0 else { return }
        let hw = max(width, 1) / 2
        let pieces = dash.map { dashed(points, $0, margin: hw + 1) } ?? [points]
        let alpha = alpha * min(width, 1)
        var bx0 = Int.max, by0 = Int.max, bx1 = Int.min, by1 = Int.min
        let w = image.width, (clipX0, clipY0, clipX1, clipY1) = (self.clipX0, self.clipY0, self.clipX1, self.clipY1)
        let bounds = (Double(clipX0) - hw - 1, Double(clipY0) - hw - 1, Double(clipX1) + hw + 1, Double(clipY1) + hw + 1)
        coverage.withUnsafeMutableBufferPointer { cov in
            for piece in pieces where !piece.isEmpty {
                for i in 0..<max(piece.count - 1, 1) {
                    guard let (a, b) = Canvas.clipSegment(piece[i], piece[min(i + 1, piece.count - 1)],
                                                          bounds.0, bounds.1, bounds.2, bounds.3) else { continue }
                    let dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy
                    // Walk long segments in short steps so each bounding box stays small.
                    let steps = max(1, Int((len2.squareRoot() / 8).rounded(.up)))
                    for s in 0..<steps {
                        let t0 = Double(s) / Double(steps), t1 = Double(s + 1) / Double(steps)
                        let px0 = a.x + dx * t0, px1 = a.x + dx * t1, py0 = a.y + dy * t0, py1 = a.y + dy * t1
                        let x0 = max(clipX0, pixelInt(floor(min(px0, px1) - hw - 1)))
                        let x1 = min(clipX1, pixelInt(ceil(max(px0, px1) + hw + 1)))
                        let y0 = max(clipY0, pixelInt(floor(min(py0, py1) - hw - 1)))
                        let y1 = min(clipY1, pixelInt(ceil(max(py0, py1) + hw + 1)))
                        guard x0 < x1, y0 < y1 else { continue }
                        bx0 = min(bx0, x0); bx1 = max(bx1, x1); by0 = min(by0, y0); by1 = max(by1, y1)
                        for y in y0..<y1 {
                            let qy = Double(y) + 0.5 - a.y
                            for x in x0..<x1 {
                                let qx = Double(x) + 0.5 - a.x
                                let t = len2 > 0 ? min(1, max(0, (qx * dx + qy * dy) / len2)) : 0
                                let ex = qx - t * dx, ey = qy - t * dy
                                let c = Float(hw + 0.5 - (ex * ex + ey * ey).squareRoot())
                                if c > cov[y * w + x] { cov[y * w + x] = min(c, 1) }
                            }
                        }
                    }
                }
            }
        }
        guard bx0 < bx1, by0 < by1 else { return }
        let a = Float(alpha)
        image.pixels.withUnsafeMutableBufferPointer { buf in
            coverage.withUnsafeMutableBufferPointer { cov in
                let base = buf.baseAddress!
                for y in by0..<by1 {
                    for x in bx0..<bx1 where cov[y * w + x] > 0 {
                        Canvas.blend(base + (y * w + x) * 4, color, cov[y * w + x] * a)
                        cov[y * w + x] = 0
                    }
                }
            }
        }
    }

    /// The part of segment a→b inside [x0, x1] × [y0, y1] (Liang–Barsky), nil when none or non-finite.
    private static func clipSegment(_ a: Point, _ b: Point, _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double)
        -> (Point, Point)? {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { return nil }
        let dx = b.x - a.x, dy = b.y - a.y
        guard dx.isFinite, dy.isFinite else { return nil }
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, a.x - x0), (dx, x1 - a.x), (-dy, a.y - y0), (dy, y1 - a.y)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { t0 = max(t0, r) } else { t1 = min(t1, r) }
            }
        }
        guard t0 <= t1 else { return nil }
        return (Point(x: a.x + t0 * dx, y: a.y + t0 * dy), Point(x: a.x + t1 * dx, y: a.y + t1 * dy))
    }

    /// The "on" pieces of a polyline under a dash pattern, each segment first clipped to the clip
    /// rectangle grown by `margin`.
    private func dashed(_ points: [Point], _ pattern: [Double], margin: Double) -> [[Point]] {
        guard pattern.count >= 2, pattern.allSatisfy({ $0 > 0 && $0.isFinite }) else { return [points] }
        var pieces: [[Point]] = [], current: [Point] = []
        var index = 0, left = pattern[0], on = true
        for i in 1..<max(points.count, 1) {
            guard var (a, b) = Canvas.clipSegment(points[i - 1], points[i], Double(clipX0) - margin, Double(clipY0) - margin,
                                           Double(clipX1) + margin, Double(clipY1) + margin) else { continue }
            if on && current.last != a {
                if current.count > 1 { pieces.append(current) }
                current = [a]
            }
            var remaining = hypot(b.x - a.x, b.y - a.y)
            while remaining > left {
                let f = left / remaining
                a = Point(x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f)
                remaining -= left
                if on {
                    current.append(a)
                    pieces.append(current)
                    current = []
                } else {
                    current = [a]
                }
                on.toggle()
                index = (index + 1) % pattern.count
                left = pattern[index]
            }
            left -= remaining
            if on { current.append(b) }
        }
        if on, !current.isEmpty { pieces.append(current) }
        return pieces
    }
}
