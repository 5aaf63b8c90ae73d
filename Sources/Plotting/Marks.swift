/// How data values map to positions along an axis.
public enum AxisScale: Sendable {
    case linear
    /// Logarithmic (base 10); every value on such an axis must be > 0.
    case log10
}

/// One axis of a panel: its label, scale and (optional) fixed limits.
public struct Axis: Sendable {
    public var label: String
    public var scale: AxisScale
    /// `nil`: automatic from the data with 5% padding (in log space on a log axis). Class regions
    /// and heatmaps set exact limits (their extent) when present.
    public var limits: ClosedRange<Double>?

    public init(_ label: String = "", scale: AxisScale = .linear, limits: ClosedRange<Double>? = nil) {
        self.label = label
        self.scale = scale
        self.limits = limits
    }
}

/// The dash pattern of a line.
public enum LineStyle: Sendable {
    case solid, dashed, dotted
}

/// The shape of a scatter marker.
public enum MarkerShape: Sendable {
    case circle, square, cross, triangle
}

/// A polyline through `(xs[i], ys[i])`; a non-finite value breaks it into separate segments.
public struct Line: Sendable {
    public var xs: [Double]
    public var ys: [Double]
    public var color: RGB
    /// Stroke width in SVG units.
    public var width: Double
    public var style: LineStyle
    /// Legend entry; `nil` keeps the line out of the legend.
    public var label: String?

    public init(xs: [Double], ys: [Double], color: RGB, width: Double = 1.5,
                style: LineStyle = .solid, label: String? = nil) {
        self.xs = xs
        self.ys = ys
        self.color = color
        self.width = width
        self.style = style
        self.label = label
    }
}

/// Scatter markers at `(xs[i], ys[i])`; points with a non-finite coordinate are skipped.
public struct Points: Sendable {
    public var xs: [Double]
    public var ys: [Double]
    /// One colour per point, or a single colour for all of them.
    public var colors: [RGB]
    /// Marker radius in SVG units.
    public var radius: Double
    public var shape: MarkerShape
    public var label: String?
    /// Optional outline drawn around each marker (helps points stand out on class regions).
    public var outline: RGB?

    public init(xs: [Double], ys: [Double], colors: [RGB], radius: Double = 2.5,
                shape: MarkerShape = .circle, label: String? = nil, outline: RGB? = nil) {
        self.xs = xs
        self.ys = ys
        self.colors = colors
        self.radius = radius
        self.shape = shape
        self.label = label
        self.outline = outline
    }

    func color(at index: Int) -> RGB {
        colors.count == 1 ? colors[0] : (index < colors.count ? colors[index] : .black)
    }
}

/// A translucent filled band between `lower[i]` and `upper[i]` at `xs[i]` (e.g. mean ± std).
public struct Band: Sendable {
    public var xs: [Double]
    public var lower: [Double]
    public var upper: [Double]
    public var color: RGB
    public var opacity: Double
    public var label: String?

    public init(xs: [Double], lower: [Double], upper: [Double], color: RGB,
                opacity: Double = 0.2, label: String? = nil) {
        self.xs = xs
        self.lower = lower
        self.upper = upper
        self.color = color
        self.opacity = opacity
        self.label = label
    }
}

/// A categorical image: cell (column, row) has class `classes[row * columns + column]`; row 0 is at
/// y = y.lowerBound (bottom), column 0 at x.lowerBound. Cells are filled with `colors[class]`
/// (default `Palette.light`); negative classes are left unfilled. Boundaries between different
/// classes are drawn as thin dark lines (cell edges where the class changes) when `drawBoundaries`.
public struct ClassRegions: Sendable {
    public var columns: Int
    public var rows: Int
    public var classes: [Int]
    public var x: ClosedRange<Double>
    public var y: ClosedRange<Double>
    public var colors: [RGB]?
    public var drawBoundaries: Bool
    /// If given, legend entries for the classes that occur.
    public var classNames: [String]?

    public init(columns: Int, rows: Int, classes: [Int], x: ClosedRange<Double>, y: ClosedRange<Double>,
                colors: [RGB]? = nil, drawBoundaries: Bool = true, classNames: [String]? = nil) {
        self.columns = columns
        self.rows = rows
        self.classes = classes
        self.x = x
        self.y = y
        self.colors = colors
        self.drawBoundaries = drawBoundaries
        self.classNames = classNames
    }

    /// The fill colour of class `k` (never called with k < 0).
    func color(of k: Int) -> RGB {
        if let colors, !colors.isEmpty { return colors[k % colors.count] }
        return Palette.light(k)
    }

    var isValidGrid: Bool { columns > 0 && rows > 0 && classes.count == columns * rows }
}

/// A continuous image with a colormap, same cell layout as `ClassRegions`; a colour bar is drawn
/// at the right of the panel when `colorbarLabel` is not nil. Non-finite cells are left unfilled.
public struct Heatmap: Sendable {
    public var columns: Int
    public var rows: Int
    public var values: [Double]
    public var x: ClosedRange<Double>
    public var y: ClosedRange<Double>
    public var colormap: Colormap
    /// Value range mapped onto the colormap; `nil`: the finite minimum…maximum of `values`.
    public var range: ClosedRange<Double>?
    public var colorbarLabel: String?

    public init(columns: Int, rows: Int, values: [Double], x: ClosedRange<Double>, y: ClosedRange<Double>,
                colormap: Colormap = .viridis, range: ClosedRange<Double>? = nil, colorbarLabel: String? = nil) {
        self.columns = columns
        self.rows = rows
        self.values = values
        self.x = x
        self.y = y
        self.colormap = colormap
        self.range = range
        self.colorbarLabel = colorbarLabel
    }

    var isValidGrid: Bool { columns > 0 && rows > 0 && values.count == columns * rows }

    /// The value range the colormap spans (never degenerate).
    var effectiveRange: ClosedRange<Double> {
        var lo = range?.lowerBound ?? .infinity, hi = range?.upperBound ?? -.infinity
        if range == nil {
            for v in values where v.isFinite {
                lo = min(lo, v)
                hi = max(hi, v)
            }
        }
        guard lo.isFinite, hi.isFinite else { return 0...1 }
        return hi > lo ? lo...hi : (lo - 0.5)...(lo + 0.5)
    }
}

/// A text annotation anchored (start, baseline) at data coordinates.
public struct TextNote: Sendable {
    public var x: Double
    public var y: Double
    public var text: String
    public var color: RGB

    public init(x: Double, y: Double, text: String, color: RGB = RGB(0, 0, 0)) {
        self.x = x
        self.y = y
        self.text = text
        self.color = color
    }
}

/// Something drawn inside a panel's plot area. Marks are drawn in order (later ones on top).
public enum Mark: Sendable {
    case line(Line)
    case points(Points)
    case band(Band)
    case classRegions(ClassRegions)
    case heatmap(Heatmap)
    case text(TextNote)
}

/// Which corner of the plot area holds the legend (`none`: no legend).
public enum LegendPosition: Sendable {
    case topRight, topLeft, bottomRight, bottomLeft, none
}

/// One panel of a figure: axes, marks, legend.
public struct Panel: Sendable {
    public var title: String
    public var x: Axis
    public var y: Axis
    public var marks: [Mark]
    public var legend: LegendPosition
    /// Keep one data unit equally long on both axes (the plot area shrinks on one side).
    public var equalAspect: Bool

    public init(title: String = "", x: Axis = Axis(), y: Axis = Axis(), marks: [Mark] = [],
                legend: LegendPosition = .topRight, equalAspect: Bool = false) {
        self.title = title
        self.x = x
        self.y = y
        self.marks = marks
        self.legend = legend
        self.equalAspect = equalAspect
    }
}
