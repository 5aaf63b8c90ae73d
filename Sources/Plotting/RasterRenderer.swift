import Foundation

/// Paints a `Scene` into a `RasterImage` at `scale` pixels per SVG unit; text uses `BitmapFont`.
enum Rasterizer {
    static func render(_ scene: Scene, scale: Int) -> RasterImage {
        let s = Double(scale)
        var canvas = Canvas(width: Int(scene.width.rounded(.up)) * scale, height: Int(scene.height.rounded(.up)) * scale,
                            background: scene.background)
        for op in scene.ops {
            draw(op, on: &canvas, scale: s)
        }
        return canvas.image
    }

    private static func draw(_ op: DrawOp, on canvas: inout Canvas, scale s: Double) {
        func p(_ q: Point) -> Point { Point(x: q.x * s, y: q.y * s) }
        switch op {
        case let .rect(r, fill, opacity, stroke, strokeWidth):
            if let fill {
                canvas.fillRect(x0: r.x * s, y0: r.y * s, x1: r.maxX * s, y1: r.maxY * s, color: fill, alpha: opacity)
            }
            if let stroke {
                let h = strokeWidth * s / 2, x0 = r.x * s, y0 = r.y * s, x1 = r.maxX * s, y1 = r.maxY * s
                canvas.fillRect(x0: x0 - h, y0: y0 - h, x1: x1 + h, y1: y0 + h, color: stroke)
                canvas.fillRect(x0: x0 - h, y0: y1 - h, x1: x1 + h, y1: y1 + h, color: stroke)
                canvas.fillRect(x0: x0 - h, y0: y0 + h, x1: x0 + h, y1: y1 - h, color: stroke)
                canvas.fillRect(x0: x1 - h, y0: y0 + h, x1: x1 + h, y1: y1 - h, color: stroke)
            }
        case let .polyline(points, color, width, style):
            canvas.stroke(points.map(p), width: width * s, color: color,
                          dash: dashPattern(style, width: width).map { $0.map { $0 * s } })
        case let .polygon(points, fill, opacity):
            canvas.fillPolygon(points.map(p), color: fill, alpha: opacity)
        case let .marker(shape, center, radius, fill, outline):
            marker(shape, p(center), radius * s, fill, outline, on: &canvas, scale: s)
        case let .segments(points, color, width):
            let h = width * s / 2
            for i in stride(from: 0, to: points.count - 1, by: 2) {
                let a = p(points[i]), b = p(points[i + 1])
                if a.x == b.x || a.y == b.y {  // axis-aligned: crisp rectangle
                    canvas.fillRect(x0: min(a.x, b.x) - h, y0: min(a.y, b.y) - h, x1: max(a.x, b.x) + h,
                                    y1: max(a.y, b.y) + h, color: color)
                } else {
                    canvas.stroke([a, b], width: width * s, color: color)
                }
            }
        case .cells(let grid):
            for row in 0..<grid.rows {
                let y0 = grid.yEdges[row] * s, y1 = grid.yEdges[row + 1] * s
                for (c0, c1, color) in grid.runs(inRow: row) {
                    canvas.fillRect(x0: grid.xEdges[c0] * s, y0: y0, x1: grid.xEdges[c1] * s, y1: y1, color: color)
                }
            }
        case let .text(text, at, anchor, role, color, rotated):
            drawText(text, p(at), anchor: anchor, role: role, color: color, rotated: rotated, on: &canvas, scale: s)
        case .clip(let r):
            canvas.setClip(x0: r.x * s, y0: r.y * s, x1: r.maxX * s, y1: r.maxY * s)
        case .unclip:
            canvas.resetClip()
        }
    }

    private static func marker(_ shape: MarkerShape, _ c: Point, _ r: Double, _ fill: RGB, _ outline: RGB?,
                               on canvas: inout Canvas, scale s: Double) {
        switch shape {
        case .circle:
            if let outline { canvas.fillDisc(cx: c.x, cy: c.y, radius: r + s * 0.5, color: outline) }
            canvas.fillDisc(cx: c.x, cy: c.y, radius: outline == nil ? r : r - s * 0.5, color: fill)
        case .square:
            if let outline {
                canvas.fillRect(x0: c.x - r - s / 2, y0: c.y - r - s / 2, x1: c.x + r + s / 2, y1: c.y + r + s / 2, color: outline)
            }
            let q = outline == nil ? r : r - s / 2
            canvas.fillRect(x0: c.x - q, y0: c.y - q, x1: c.x + q, y1: c.y + q, color: fill)
        case .triangle:
            if let outline { canvas.fillPolygon(trianglePoints(c, r + s), color: outline) }
            canvas.fillPolygon(trianglePoints(c, r), color: fill)
        case .cross:
            let arms = [[Point(x: c.x - r, y: c.y - r), Point(x: c.x + r, y: c.y + r)],
                        [Point(x: c.x - r, y: c.y + r), Point(x: c.x + r, y: c.y - r)]]
            let w = crossWidth(r / s) * s
            if let outline { for arm in arms { canvas.stroke(arm, width: w + 2 * s, color: outline) } }
            for arm in arms { canvas.stroke(arm, width: w, color: fill) }
        }
    }

    /// Bitmap-font text; `at` is the baseline point (start, middle or end of the text per `anchor`).
    /// Rotated text reads bottom to top (the y-axis label).
    static func drawText(_ text: String, _ at: Point, anchor: TextAnchor, role: TextRole, color: RGB,
                         rotated: Bool, on canvas: inout Canvas, scale s: Double) {
        let bytes = BitmapFont.ascii(text)
        guard !bytes.isEmpty, at.x.isFinite, at.y.isFinite else { return }
        let ps = max(1, Int((role.unit * s).rounded()))
        let boldShift = role.bold ? max(1, ps / 2) : 0
        let length = (bytes.count * BitmapFont.advance - 1) * ps + boldShift
        let offset = anchor == .start ? 0 : anchor == .middle ? length / 2 : length
        let ox = pixelInt(at.x.rounded()), oy = pixelInt(at.y.rounded())
        let h = BitmapFont.glyphHeight
        for (i, byte) in bytes.enumerated() where byte != 32 {
            for (col, bits) in BitmapFont.columns(byte).enumerated() where bits != 0 {
                let u = (i * BitmapFont.advance + col) * ps - offset  // along the text
                for row in 0..<h where bits & (1 << row) != 0 {
                    let v = (row - h) * ps  // above the baseline
                    for shift in boldShift > 0 ? [0, boldShift] : [0] {
                        let (x, y) = rotated ? (ox + v, oy - u - shift - ps) : (ox + u + shift, oy + v)
                        canvas.fillRect(x0: Double(x), y0: Double(y), x1: Double(x + ps), y1: Double(y + ps), color: color)
                    }
                }
            }
        }
    }
}
