/// The display list both renderers draw: a figure is laid out once into primitives in SVG units
/// (origin top left, y down), then `SVGRenderer` writes them as elements and `Rasterizer`
/// paints them into a `RasterImage`.

struct Point: Equatable {
    var x: Double
    var y: Double
}

struct Rect: Equatable {
    var x: Double
    var y: Double
    var width: Double
    var height: Double
    var maxX: Double { x + width }
    var maxY: Double { y + height }
    var midX: Double { x + width / 2 }
    var midY: Double { y + height / 2 }

    func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }
}

enum TextAnchor { case start, middle, end }

/// Text sizes: SVG font size, bitmap-font unit (SVG units per glyph pixel) and weight.
enum TextRole {
    case tick, label, title, heading

    var fontSize: Double {
        switch self {
        case .tick: 10
        case .label: 11
        case .title: 12
        case .heading: 14
        }
    }

    var unit: Double { self == .heading ? 1.5 : 1 }
    var bold: Bool { self == .title || self == .heading }

    /// Width of `text` in SVG units as the bitmap font draws it (also the layout's estimate for SVG).
    func width(of text: String) -> Double {
        let n = BitmapFont.ascii(text).count
        return n == 0 ? 0 : (Double(n * BitmapFont.advance - 1) + (bold ? 0.5 : 0)) * unit
    }
}

/// A grid of coloured cells between the given edges (screen coordinates, `columns + 1` x-edges
/// and `rows + 1` y-edges; row 0 is the bottom row, so its edges are `yEdges[0]` and `yEdges[1]`).
/// `nil` cells are left unfilled.
struct CellGrid {
    var columns: Int
    var rows: Int
    var colors: [RGB?]
    var xEdges: [Double]
    var yEdges: [Double]

    var bounds: Rect {
        let x0 = min(xEdges[0], xEdges[columns]), x1 = max(xEdges[0], xEdges[columns])
        let y0 = min(yEdges[0], yEdges[rows]), y1 = max(yEdges[0], yEdges[rows])
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Horizontal runs of equal colour in `row`: (first column, end column, colour).
    func runs(inRow row: Int) -> [(Int, Int, RGB)] {
        var result: [(Int, Int, RGB)] = []
        var c = 0
        while c < columns {
            let color = colors[row * columns + c]
            var end = c + 1
            while end < columns, colors[row * columns + end] == color { end += 1 }
            if let color { result.append((c, end, color)) }
            c = end
        }
        return result
    }
}

enum DrawOp {
    case rect(Rect, fill: RGB?, opacity: Double, stroke: RGB?, strokeWidth: Double)
    case polyline([Point], color: RGB, width: Double, style: LineStyle)
    case polygon([Point], fill: RGB, opacity: Double)
    case marker(MarkerShape, Point, radius: Double, fill: RGB, outline: RGB?)
    /// Independent straight segments: points 2i and 2i + 1.
    case segments([Point], color: RGB, width: Double)
    case cells(CellGrid)
    case text(String, Point, anchor: TextAnchor, role: TextRole, color: RGB, rotated: Bool)
    /// Clip the following ops to the rectangle, until `.unclip`.
    case clip(Rect)
    case unclip
}

struct Scene {
    var width: Double
    var height: Double
    var background: RGB = .white
    var ops: [DrawOp] = []
}

/// The dash pattern (on, off, … in SVG units) of a line style at a stroke width.
func dashPattern(_ style: LineStyle, width: Double) -> [Double]? {
    switch style {
    case .solid: nil
    case .dashed: [max(4, 4 * width), max(3, 2.5 * width)]
    case .dotted: [0.01, max(3, 2.2 * width)]
    }
}
