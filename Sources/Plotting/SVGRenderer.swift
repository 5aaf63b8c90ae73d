import Foundation

/// Writes a `Scene` as an SVG document (one element per primitive; cell grids as merged
/// horizontal runs of `<rect>`, or as an embedded PNG when there are too many runs).
enum SVGRenderer {
    /// Above this many runs a cell grid is embedded as a PNG image instead of rectangles.
    static let maxRectRuns = 3000

    static func render(_ scene: Scene) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let w = num(scene.width), h = num(scene.height)
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
        out += "font-family=\"Helvetica, Arial, sans-serif\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"\(scene.background.hexString)\"/>\n"
        var clipCount = 0
        var clipped = false
        for op in scene.ops {
            switch op {
            case .clip(let r):
                if clipped { out += "</g>\n" }
                clipCount += 1
                out += "<clipPath id=\"clip\(clipCount)\">\(rect(r))/></clipPath>\n"
                out += "<g clip-path=\"url(#clip\(clipCount))\">\n"
                clipped = true
            case .unclip:
                if clipped { out += "</g>\n" }
                clipped = false
            default:
                write(op, to: &out)
            }
        }
        if clipped { out += "</g>\n" }
        out += "</svg>\n"
        return out
    }

    private static func write(_ op: DrawOp, to out: inout String) {
        switch op {
        case let .rect(r, fill, opacity, stroke, strokeWidth):
            out += rect(r) + " fill=\"\(fill?.hexString ?? "none")\""
            if fill != nil, opacity < 1 { out += " fill-opacity=\"\(num(opacity))\"" }
            if let stroke { out += " stroke=\"\(stroke.hexString)\" stroke-width=\"\(num(strokeWidth))\"" }
            out += "/>\n"
        case let .polyline(points, color, width, style):
            guard !points.isEmpty else { return }
            out += "<polyline points=\"\(pointList(points))\" fill=\"none\" stroke=\"\(color.hexString)\" "
            out += "stroke-width=\"\(num(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            if let dash = dashPattern(style, width: width) {
                out += " stroke-dasharray=\"\(dash.map(num).joined(separator: ","))\""
            }
            out += "/>\n"
        case let .polygon(points, fill, opacity):
            out += "<polygon points=\"\(pointList(points))\" fill=\"\(fill.hexString)\" fill-opacity=\"\(num(opacity))\"/>\n"
        case let .marker(shape, p, radius, fill, outline):
            marker(shape, p, radius, fill, outline, to: &out)
        case let .segments(points, color, width):
            guard points.count >= 2 else { return }
            out += "<path d=\""
            for i in stride(from: 0, to: points.count - 1, by: 2) {
                out += "M\(num(points[i].x)) \(num(points[i].y))L\(num(points[i + 1].x)) \(num(points[i + 1].y))"
            }
            out += "\" fill=\"none\" stroke=\"\(color.hexString)\" stroke-width=\"\(num(width))\" "
            out += "stroke-linecap=\"square\" shape-rendering=\"crispEdges\"/>\n"
        case .cells(let grid):
            cells(grid, to: &out)
        case let .text(text, p, anchor, role, color, rotated):
            out += "<text x=\"\(num(p.x))\" y=\"\(num(p.y))\" font-size=\"\(num(role.fontSize))\""
            if anchor != .start { out += " text-anchor=\"\(anchor == .middle ? "middle" : "end")\"" }
            if role.bold { out += " font-weight=\"bold\"" }
            if color != .black { out += " fill=\"\(color.hexString)\"" }
            if rotated { out += " transform=\"rotate(-90 \(num(p.x)) \(num(p.y)))\"" }
            out += ">\(escape(text))</text>\n"
        case .clip, .unclip:
            break
        }
    }

    private static func marker(_ shape: MarkerShape, _ p: Point, _ r: Double, _ fill: RGB, _ outline: RGB?,
                               to out: inout String) {
        let stroke = outline.map { " stroke=\"\($0.hexString)\" stroke-width=\"1\"" } ?? ""
        switch shape {
        case .circle:
            out += "<circle cx=\"\(num(p.x))\" cy=\"\(num(p.y))\" r=\"\(num(r))\" fill=\"\(fill.hexString)\"\(stroke)/>\n"
        case .square:
            out += rect(Rect(x: p.x - r, y: p.y - r, width: 2 * r, height: 2 * r)) + " fill=\"\(fill.hexString)\"\(stroke)/>\n"
        case .triangle:
            out += "<polygon points=\"\(pointList(trianglePoints(p, r)))\" fill=\"\(fill.hexString)\"\(stroke)/>\n"
        case .cross:
            let d = "M\(num(p.x - r)) \(num(p.y - r))L\(num(p.x + r)) \(num(p.y + r))"
                + "M\(num(p.x - r)) \(num(p.y + r))L\(num(p.x + r)) \(num(p.y - r))"
            if let outline {
                out += "<path d=\"\(d)\" stroke=\"\(outline.hexString)\" stroke-width=\"\(num(crossWidth(r) + 2))\"/>\n"
            }
            out += "<path d=\"\(d)\" stroke=\"\(fill.hexString)\" stroke-width=\"\(num(crossWidth(r)))\"/>\n"
        }
    }

    private static func cells(_ grid: CellGrid, to out: inout String) {
        guard grid.columns > 0, grid.rows > 0 else { return }
        let runs = (0..<grid.rows).map { grid.runs(inRow: $0) }
        if runs.reduce(0, { $0 + $1.count }) > maxRectRuns, let png = cellImage(grid) {
            let b = grid.bounds
            out += "<image x=\"\(num(b.x))\" y=\"\(num(b.y))\" width=\"\(num(b.width))\" height=\"\(num(b.height))\" "
            out += "preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
            out += "href=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>\n"
            return
        }
        out += "<g shape-rendering=\"crispEdges\">\n"
        for (row, rowRuns) in runs.enumerated() {
            let y0 = min(grid.yEdges[row], grid.yEdges[row + 1]), y1 = max(grid.yEdges[row], grid.yEdges[row + 1])
            for (c0, c1, color) in rowRuns {
                let x0 = min(grid.xEdges[c0], grid.xEdges[c1]), x1 = max(grid.xEdges[c0], grid.xEdges[c1])
                out += rect(Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)) + " fill=\"\(color.hexString)\"/>\n"
            }
        }
        out += "</g>\n"
    }

    /// The grid as a PNG, one pixel per cell (top row first); unfilled cells are transparent.
    private static func cellImage(_ grid: CellGrid) -> [UInt8]? {
        var image = RasterImage(width: grid.columns, height: grid.rows, background: .white)
        let flipX = grid.xEdges[grid.columns] < grid.xEdges[0], flipY = grid.yEdges[grid.rows] < grid.yEdges[0]
        for row in 0..<grid.rows {
            for col in 0..<grid.columns {
                let px = flipX ? grid.columns - 1 - col : col, py = flipY ? grid.rows - 1 - row : row
                let i = (py * grid.columns + px) * 4
                if let c = grid.colors[row * grid.columns + col] {
                    image.pixels[i] = c.r
                    image.pixels[i + 1] = c.g
                    image.pixels[i + 2] = c.b
                } else {
                    image.pixels[i + 3] = 0
                }
            }
        }
        return try? PNGEncoder.encode(image)
    }

    private static func rect(_ r: Rect) -> String {
        "<rect x=\"\(num(r.x))\" y=\"\(num(r.y))\" width=\"\(num(r.width))\" height=\"\(num(r.height))\""
    }

    private static func pointList(_ points: [Point]) -> String {
        points.map { "\(num($0.x)),\(num($0.y))" }.joined(separator: " ")
    }

    /// XML text/attribute escaping.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab/newline are not allowed in XML 1.0.
                if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += " " } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A coordinate with at most two decimals ("12", "12.5", "12.25").
    static func num(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = Int((min(max(v, -1e12), 1e12) * 100).rounded())
        let a = abs(r), i = a / 100, f = a % 100
        let sign = r < 0 ? "-" : ""
        if f == 0 { return sign + String(i) }
        if f % 10 == 0 { return sign + String(i) + "." + String(f / 10) }
        return sign + String(i) + (f < 10 ? ".0" : ".") + String(f)
    }
}

/// Vertices of a triangle marker of "radius" r centred on p (pointing up).
func trianglePoints(_ p: Point, _ r: Double) -> [Point] {
    let s = r * 1.2
    return [Point(x: p.x, y: p.y - s), Point(x: p.x + s * 0.866, y: p.y + s * 0.5), Point(x: p.x - s * 0.866, y: p.y + s * 0.5)]
}

/// Stroke width of a cross marker of radius r.
func crossWidth(_ r: Double) -> Double { max(1.2, r * 0.55) }
