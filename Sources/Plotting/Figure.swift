import Foundation

/// Why a figure cannot be rendered to a file. Messages name the panel and the mark.
public enum PlotError: Error, CustomStringConvertible {
    case emptyData(String)
    case mismatchedLengths(String)
    case nonPositiveOnLogScale(String)
    case invalidGrid(String)
    case outOfRange(String)
    case encoding(String)

    public var description: String {
        switch self {
        case .emptyData(let m): "empty data: \(m)"
        case .mismatchedLengths(let m): "mismatched lengths: \(m)"
        case .nonPositiveOnLogScale(let m): "non-positive value on a log scale: \(m)"
        case .invalidGrid(let m): "invalid grid: \(m)"
        case .outOfRange(let m): "value out of range: \(m)"
        case .encoding(let m): "encoding failed: \(m)"
        }
    }
}

/// A grid of panels, rendered to SVG (`svg()`) or PNG (`png()`, via `raster()`).
///
/// `svg()` and `raster()` never fail: they skip what they cannot draw. `png()` and
/// `write(to:name:)` first `validate()` the figure and throw `PlotError` for bad input.
public struct Figure: Sendable {
    public var title: String?
    public var panels: [Panel]
    /// Panels per row; the panels fill rows left to right.
    public var columns: Int
    /// Size of one panel's cell in SVG units.
    public var panelWidth: Int
    public var panelHeight: Int

    public init(title: String? = nil, panels: [Panel], columns: Int? = nil,
                panelWidth: Int = 380, panelHeight: Int = 320) {
        self.title = title
        self.panels = panels
        self.columns = columns ?? max(panels.count, 1)
        self.panelWidth = panelWidth
        self.panelHeight = panelHeight
    }

    /// The whole figure in SVG units (the PNG is `scale` times larger).
    public var size: (width: Int, height: Int) {
        let layout = FigureLayout(self)
        return (Int(layout.width), Int(layout.height))
    }

    /// The figure as an SVG document.
    public func svg() -> String {
        SVGRenderer.render(Scene(self))
    }

    /// The figure painted into pixels, `scale` pixels per SVG unit (clamped to 1…8).
    public func raster(scale: Int = 2) -> RasterImage {
        Rasterizer.render(Scene(self), scale: max(1, min(scale, 8)))
    }

    /// The figure as a PNG file's bytes (validated first).
    public func png(scale: Int = 2) throws -> [UInt8] {
        try validate()
        return try PNGEncoder.encode(raster(scale: scale))
    }

    /// Writes `name.svg` and `name.png` into `directory` (created if missing), each atomically
    /// (written to a temporary file, then renamed); returns both URLs.
    @discardableResult
    public func write(to directory: URL, name: String) throws -> (svg: URL, png: URL) {
        let pngBytes = try png()
        let svgText = svg()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let svgURL = directory.appendingPathComponent(name + ".svg")
        let pngURL = directory.appendingPathComponent(name + ".png")
        try Data(svgText.utf8).write(to: svgURL, options: .atomic)
        try Data(pngBytes).write(to: pngURL, options: .atomic)
        return (svgURL, pngURL)
    }

    /// Throws `PlotError` for input that cannot be drawn faithfully: no panels, a bad layout,
    /// mismatched coordinate arrays, class/heatmap grids of the wrong size, values ≤ 0 on a log
    /// axis. Non-finite values are allowed (they are skipped; NaN breaks a line).
    public func validate() throws {
        guard !panels.isEmpty else { throw PlotError.emptyData("the figure has no panels") }
        guard columns > 0, panelWidth >= 60, panelHeight >= 60 else {
            throw PlotError.invalidGrid("figure layout needs columns > 0 and panels of at least 60×60 "
                + "(got columns \(columns), panel \(panelWidth)×\(panelHeight))")
        }
        for (p, panel) in panels.enumerated() {
            let where_ = "panel \(p)" + (panel.title.isEmpty ? "" : " ('\(panel.title)')")
            for axis in [("x", panel.x), ("y", panel.y)] {
                if let l = axis.1.limits, axis.1.scale == .log10, l.lowerBound <= 0 {
                    throw PlotError.nonPositiveOnLogScale("\(where_): \(axis.0) limits \(l) on a log axis")
                }
            }
            for (m, mark) in panel.marks.enumerated() {
                try Figure.validate(mark, panel, "\(where_), mark \(m)")
            }
        }
    }

    private static func validate(_ mark: Mark, _ panel: Panel, _ location: String) throws {
        let logX = panel.x.scale == .log10, logY = panel.y.scale == .log10
        func requirePositive(_ values: [Double], _ log: Bool, _ what: String) throws {
            guard log, let bad = values.first(where: { $0.isFinite && $0 <= 0 }) else { return }
            throw PlotError.nonPositiveOnLogScale("\(location): \(what) contains \(bad) on a log axis")
        }
        func requireGrid(_ kind: String, _ columns: Int, _ rows: Int, _ count: Int,
                         _ x: ClosedRange<Double>, _ y: ClosedRange<Double>) throws {
            guard columns > 0, rows > 0, count == columns * rows else {
                throw PlotError.invalidGrid("\(location) (\(kind)): \(count) cells for \(columns) columns × \(rows) rows")
            }
            guard x.lowerBound.isFinite, x.upperBound.isFinite, y.lowerBound.isFinite, y.upperBound.isFinite,
                  x.upperBound > x.lowerBound, y.upperBound > y.lowerBound else {
                throw PlotError.invalidGrid("\(location) (\(kind)): empty or non-finite extent \(x) × \(y)")
            }
            try requirePositive([x.lowerBound], logX, "\(kind) x extent")
            try requirePositive([y.lowerBound], logY, "\(kind) y extent")
        }
        switch mark {
        case .line(let l):
            let name = "line" + (l.label.map { " '\($0)'" } ?? "")
            guard l.xs.count == l.ys.count else {
                throw PlotError.mismatchedLengths("\(location) (\(name)): \(l.xs.count) xs but \(l.ys.count) ys")
            }
            try requirePositive(l.xs, logX, "\(name) xs")
            try requirePositive(l.ys, logY, "\(name) ys")
        case .points(let p):
            let name = "points" + (p.label.map { " '\($0)'" } ?? "")
            guard p.xs.count == p.ys.count else {
                throw PlotError.mismatchedLengths("\(location) (\(name)): \(p.xs.count) xs but \(p.ys.count) ys")
            }
            guard p.colors.count == 1 || p.colors.count == p.xs.count else {
                throw PlotError.mismatchedLengths("\(location) (\(name)): \(p.colors.count) colors for \(p.xs.count) points")
            }
            try requirePositive(p.xs, logX, "\(name) xs")
            try requirePositive(p.ys, logY, "\(name) ys")
        case .band(let b):
            let name = "band" + (b.label.map { " '\($0)'" } ?? "")
            guard b.xs.count == b.lower.count, b.xs.count == b.upper.count else {
                throw PlotError.mismatchedLengths(
                    "\(location) (\(name)): \(b.xs.count) xs, \(b.lower.count) lower, \(b.upper.count) upper")
            }
            guard (0...1).contains(b.opacity) else {
                throw PlotError.outOfRange("\(location) (\(name)): opacity \(b.opacity) is not in [0, 1]")
            }
            try requirePositive(b.xs, logX, "\(name) xs")
            try requirePositive(b.lower + b.upper, logY, "\(name) bounds")
        case .classRegions(let r):
            try requireGrid("class regions", r.columns, r.rows, r.classes.count, r.x, r.y)
            if let colors = r.colors, colors.isEmpty {
                throw PlotError.emptyData("\(location) (class regions): empty colour list")
            }
        case .heatmap(let h):
            try requireGrid("heatmap", h.columns, h.rows, h.values.count, h.x, h.y)
        case .text(let t):
            try requirePositive([t.x], logX, "text '\(t.text)' x")
            try requirePositive([t.y], logY, "text '\(t.text)' y")
        }
    }
}
