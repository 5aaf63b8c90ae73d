import Foundation

/// Maps data values on one axis to screen coordinates (SVG units).
struct AxisMap {
    var scale: AxisScale
    /// Data limits (both > 0 on a log axis).
    var lower: Double
    var upper: Double
    /// Screen coordinates of `lower` and `upper` (for y, `start` is the bottom of the plot).
    var start: Double = 0
    var end: Double = 1

    /// The value in the axis' linear space (log10 on log axes; NaN for values a log axis cannot show).
    func transformed(_ v: Double) -> Double {
        scale == .log10 ? (v > 0 ? Foundation.log10(v) : .nan) : v
    }

    var span: Double { transformed(upper) - transformed(lower) }

    /// Screen coordinate of `v`, or nil when it is not finite (or ≤ 0 on a log axis).
    func position(_ v: Double) -> Double? {
        let t = transformed(v)
        guard t.isFinite else { return nil }
        let lo = transformed(lower), hi = transformed(upper)
        let p = start + (t - lo) / (hi - lo) * (end - start)
        return p.isFinite ? p : nil
    }

    /// Tick positions (data units) for an axis `length` SVG units long.
    func ticks(length: Double) -> [Double] {
        let target = max(2, Int(abs(length) / 55))
        if scale == .log10 {
            var decades = Ticks.log10(lower...upper)
            if decades.count >= 2 {
                let stride = Int((Double(decades.count) / Double(max(target, 5))).rounded(.up))
                if stride > 1 { decades = decades.enumerated().filter { $0.offset % stride == 0 }.map(\.element) }
                return decades
            }
            return Ticks.linear(lower...upper, target: target).filter { $0 > 0 }
        }
        return Ticks.linear(lower...upper, target: target)
    }

    /// Limits for an axis: the axis' own limits, else the exact extent of class regions and
    /// heatmaps, else the data with 5% padding (in log space on a log axis).
    static func limits(for axis: Axis, data: [Double], exact: ClosedRange<Double>?) -> (Double, Double) {
        let log = axis.scale == .log10
        if let l = axis.limits, l.lowerBound.isFinite, l.upperBound.isFinite, l.upperBound > l.lowerBound,
           !log || l.lowerBound > 0 {
            return (l.lowerBound, l.upperBound)
        }
        if let e = exact, e.upperBound > e.lowerBound, !log || e.lowerBound > 0 {
            return (e.lowerBound, e.upperBound)
        }
        var lo = Double.infinity, hi = -Double.infinity
        for v in data where v.isFinite && (!log || v > 0) {
            let t = log ? Foundation.log10(v) : v
            lo = min(lo, t)
            hi = max(hi, t)
        }
        if !lo.isFinite { return log ? (1, 10) : (0, 1) }
        if hi > lo {
            let pad = (hi - lo) * 0.05
            lo -= pad
            hi += pad
        } else {
            let half = log ? 0.5 : (lo == 0 ? 0.5 : abs(lo) * 0.1)
            lo -= half
            hi += half
        }
        return log ? (pow(10, lo), pow(10, hi)) : (lo, hi)
    }
}

/// Where a panel's parts go: its cell in the figure, the plot area and the axis maps.
struct PanelLayout {
    var cell: Rect
    var plot: Rect
    var x: AxisMap
    var y: AxisMap
    var xTicks: [Double]
    var yTicks: [Double]
    /// The heatmap whose colour bar is drawn at the right, if any.
    var colorbar: Heatmap?

    static let colorbarGap = 12.0
    static let colorbarWidth = 12.0

    init(panel: Panel, cell: Rect) {
        self.cell = cell
        var xs: [Double] = [], ys: [Double] = []
        var exactX: ClosedRange<Double>?, exactY: ClosedRange<Double>?
        func union(_ a: ClosedRange<Double>?, _ b: ClosedRange<Double>) -> ClosedRange<Double> {
            guard let a else { return b }
            return min(a.lowerBound, b.lowerBound)...max(a.upperBound, b.upperBound)
        }
        var colorbar: Heatmap?
        for mark in panel.marks {
            switch mark {
            case .line(let l): xs += l.xs; ys += l.ys
            case .points(let p): xs += p.xs; ys += p.ys
            case .band(let b): xs += b.xs; ys += b.lower; ys += b.upper
            case .text(let t): xs.append(t.x); ys.append(t.y)
            case .classRegions(let r):
                exactX = union(exactX, r.x)
                exactY = union(exactY, r.y)
            case .heatmap(let h):
                exactX = union(exactX, h.x)
                exactY = union(exactY, h.y)
                if h.colorbarLabel != nil, colorbar == nil { colorbar = h }
            }
        }
        self.colorbar = colorbar
        let (x0, x1) = AxisMap.limits(for: panel.x, data: xs, exact: exactX)
        let (y0, y1) = AxisMap.limits(for: panel.y, data: ys, exact: exactY)
        var x = AxisMap(scale: panel.x.scale, lower: x0, upper: x1)
        var y = AxisMap(scale: panel.y.scale, lower: y0, upper: y1)

        // Margins: tick labels and the axis label on the left, tick labels and label below,
        // the title above, the colour bar (if any) on the right.
        let roughYTicks = y.ticks(length: cell.height * 0.7)
        let yLabelWidth = roughYTicks.map { TextRole.tick.width(of: Ticks.label($0)) }.max() ?? 0
        let left = max(30, yLabelWidth + 10) + (panel.y.label.isEmpty ? 8 : 22)
        let bottom = panel.x.label.isEmpty ? 26.0 : 42.0
        let top = panel.title.isEmpty ? 12.0 : 28.0
        var right = 16.0
        if let bar = colorbar {
            let labels = Ticks.linear(bar.effectiveRange).map { TextRole.tick.width(of: Ticks.label($0)) }
            right = PanelLayout.colorbarGap + PanelLayout.colorbarWidth + 8 + (labels.max() ?? 0) + 24
        }
        var plot = Rect(x: (cell.x + left).rounded(), y: (cell.y + top).rounded(),
                        width: max(10, cell.width - left - right).rounded(),
                        height: max(10, cell.height - top - bottom).rounded())
        if panel.equalAspect, x.span > 0, y.span > 0 {
            let unit = min(plot.width / x.span, plot.height / y.span)
            let w = (x.span * unit).rounded(), h = (y.span * unit).rounded()
            plot = Rect(x: (plot.x + (plot.width - w) / 2).rounded(), y: (plot.y + (plot.height - h) / 2).rounded(),
                        width: w, height: h)
        }
        self.plot = plot
        x.start = plot.x
        x.end = plot.maxX
        y.start = plot.maxY
        y.end = plot.y
        self.x = x
        self.y = y
        self.xTicks = x.ticks(length: plot.width)
        self.yTicks = y.ticks(length: plot.height)
    }

    func point(_ px: Double, _ py: Double) -> Point? {
        guard let sx = x.position(px), let sy = y.position(py) else { return nil }
        return Point(x: sx, y: sy)
    }
}

/// The figure's grid of panels and its overall size.
struct FigureLayout {
    var width: Double
    var height: Double
    var titleHeight: Double
    var panels: [PanelLayout]

    init(_ figure: Figure) {
        let columns = max(1, min(figure.columns, max(figure.panels.count, 1)))
        let rows = max(1, (figure.panels.count + columns - 1) / columns)
        let pw = Double(max(figure.panelWidth, 1)), ph = Double(max(figure.panelHeight, 1))
        titleHeight = (figure.title?.isEmpty ?? true) ? 0 : 30
        width = Double(columns) * pw
        height = Double(rows) * ph + titleHeight
        var panels: [PanelLayout] = []
        for (i, panel) in figure.panels.enumerated() {
            let cell = Rect(x: Double(i % columns) * pw, y: titleHeight + Double(i / columns) * ph, width: pw, height: ph)
            panels.append(PanelLayout(panel: panel, cell: cell))
        }
        self.panels = panels
    }
}
