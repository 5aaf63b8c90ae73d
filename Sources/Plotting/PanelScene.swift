/// Lays a figure out into a `Scene`: per panel the grid, the marks (clipped to the plot area),
/// the frame, ticks and labels, then the legend and colour bar.

let axisColor = RGB(51, 51, 51)
let gridColor = RGB(232, 232, 232)
let boundaryColor = RGB(60, 60, 60)

extension Scene {
    init(_ figure: Figure) {
        let layout = FigureLayout(figure)
        self.init(width: layout.width, height: layout.height)
        if let title = figure.title, !title.isEmpty {
            ops.append(.text(title, Point(x: layout.width / 2, y: 21), anchor: .middle, role: .heading,
                             color: .black, rotated: false))
        }
        for (panel, panelLayout) in zip(figure.panels, layout.panels) {
            addPanel(panel, panelLayout)
        }
    }

    mutating func addPanel(_ panel: Panel, _ l: PanelLayout) {
        let plot = l.plot
        // Grid lines under the marks.
        var grid: [Point] = []
        for t in l.xTicks {
            if let x = l.x.position(t) { grid += [Point(x: x, y: plot.y), Point(x: x, y: plot.maxY)] }
        }
        for t in l.yTicks {
            if let y = l.y.position(t) { grid += [Point(x: plot.x, y: y), Point(x: plot.maxX, y: y)] }
        }
        ops.append(.segments(grid, color: gridColor, width: 1))

        ops.append(.clip(plot))
        for mark in panel.marks { addMark(mark, l) }
        ops.append(.unclip)

        // Frame, ticks and tick labels.
        ops.append(.rect(plot, fill: nil, opacity: 1, stroke: axisColor, strokeWidth: 1))
        var tickMarks: [Point] = []
        for t in l.xTicks {
            guard let x = l.x.position(t) else { continue }
            tickMarks += [Point(x: x, y: plot.maxY), Point(x: x, y: plot.maxY + 4)]
            ops.append(.text(Ticks.label(t), Point(x: x, y: plot.maxY + 15), anchor: .middle, role: .tick,
                             color: axisColor, rotated: false))
        }
        for t in l.yTicks {
            guard let y = l.y.position(t) else { continue }
            tickMarks += [Point(x: plot.x - 4, y: y), Point(x: plot.x, y: y)]
            ops.append(.text(Ticks.label(t), Point(x: plot.x - 6, y: y + 3.5), anchor: .end, role: .tick,
                             color: axisColor, rotated: false))
        }
        ops.append(.segments(tickMarks, color: axisColor, width: 1))

        // Axis labels and title.
        if !panel.x.label.isEmpty {
            ops.append(.text(panel.x.label, Point(x: plot.midX, y: plot.maxY + 33), anchor: .middle, role: .label,
                             color: .black, rotated: false))
        }
        if !panel.y.label.isEmpty {
            ops.append(.text(panel.y.label, Point(x: l.cell.x + 15, y: plot.midY), anchor: .middle, role: .label,
                             color: .black, rotated: true))
        }
        if !panel.title.isEmpty {
            ops.append(.text(panel.title, Point(x: plot.midX, y: l.cell.y + 19), anchor: .middle, role: .title,
                             color: .black, rotated: false))
        }
        addLegend(panel, l)
        if let bar = l.colorbar { addColorbar(bar, l) }
    }

    mutating func addMark(_ mark: Mark, _ l: PanelLayout) {
        switch mark {
        case .line(let line):
            for run in finiteRuns(count: min(line.xs.count, line.ys.count), { l.point(line.xs[$0], line.ys[$0]) }) {
                ops.append(.polyline(run, color: line.color, width: line.width, style: line.style))
            }
        case .band(let band):
            let n = min(band.xs.count, band.lower.count, band.upper.count)
            let lowers = finiteRuns(count: n) { i -> (Point, Point)? in
                guard let a = l.point(band.xs[i], band.lower[i]), let b = l.point(band.xs[i], band.upper[i]) else { return nil }
                return (a, b)
            }
            for run in lowers where run.count >= 2 {
                ops.append(.polygon(run.map(\.1) + run.reversed().map(\.0), fill: band.color, opacity: band.opacity))
            }
        case .points(let points):
            for i in 0..<min(points.xs.count, points.ys.count) {
                guard let p = l.point(points.xs[i], points.ys[i]) else { continue }
                ops.append(.marker(points.shape, p, radius: points.radius, fill: points.color(at: i), outline: points.outline))
            }
        case .classRegions(let regions):
            guard regions.isValidGrid, let grid = cellGrid(regions.columns, regions.rows, regions.x, regions.y, l, { k in
                let c = regions.classes[k]
                return c >= 0 ? regions.color(of: c) : nil
            }) else { return }
            ops.append(.cells(grid))
            if regions.drawBoundaries {
                ops.append(.segments(boundaries(regions, grid), color: boundaryColor, width: 1))
            }
        case .heatmap(let heatmap):
            let range = heatmap.effectiveRange
            let span = range.upperBound - range.lowerBound
            guard heatmap.isValidGrid, let grid = cellGrid(heatmap.columns, heatmap.rows, heatmap.x, heatmap.y, l, { k in
                let v = heatmap.values[k]
                return v.isFinite ? heatmap.colormap.color((v - range.lowerBound) / span) : nil
            }) else { return }
            ops.append(.cells(grid))
        case .text(let note):
            if let p = l.point(note.x, note.y) {
                ops.append(.text(note.text, p, anchor: .start, role: .tick, color: note.color, rotated: false))
            }
        }
    }

    private func cellGrid(_ columns: Int, _ rows: Int, _ xr: ClosedRange<Double>, _ yr: ClosedRange<Double>,
                          _ l: PanelLayout, _ color: (Int) -> RGB?) -> CellGrid? {
        var xEdges: [Double] = [], yEdges: [Double] = []
        for c in 0...columns {
            guard let x = l.x.position(xr.lowerBound + (xr.upperBound - xr.lowerBound) * Double(c) / Double(columns))
            else { return nil }
            xEdges.append(x)
        }
        for r in 0...rows {
            guard let y = l.y.position(yr.lowerBound + (yr.upperBound - yr.lowerBound) * Double(r) / Double(rows))
            else { return nil }
            yEdges.append(y)
        }
        return CellGrid(columns: columns, rows: rows, colors: (0..<(columns * rows)).map(color),
                        xEdges: xEdges, yEdges: yEdges)
    }

    /// Cell edges where the class changes, merged into straight runs.
    private func boundaries(_ r: ClassRegions, _ g: CellGrid) -> [Point] {
        var points: [Point] = []
        for c in 1..<max(r.columns, 1) {  // vertical edges between column c-1 and c
            var row = 0
            while row < r.rows {
                guard r.classes[row * r.columns + c - 1] != r.classes[row * r.columns + c] else { row += 1; continue }
                let start = row
                while row < r.rows, r.classes[row * r.columns + c - 1] != r.classes[row * r.columns + c] { row += 1 }
                points += [Point(x: g.xEdges[c], y: g.yEdges[start]), Point(x: g.xEdges[c], y: g.yEdges[row])]
            }
        }
        for rr in 1..<max(r.rows, 1) {  // horizontal edges between row rr-1 and rr
            var col = 0
            while col < r.columns {
                guard r.classes[(rr - 1) * r.columns + col] != r.classes[rr * r.columns + col] else { col += 1; continue }
                let start = col
                while col < r.columns, r.classes[(rr - 1) * r.columns + col] != r.classes[rr * r.columns + col] { col += 1 }
                points += [Point(x: g.xEdges[start], y: g.yEdges[rr]), Point(x: g.xEdges[col], y: g.yEdges[rr])]
            }
        }
        return points
    }
}

/// Maximal runs of consecutive indices whose element is non-nil (a nil breaks the run).
func finiteRuns<T>(count: Int, _ element: (Int) -> T?) -> [[T]] {
    var runs: [[T]] = [], current: [T] = []
    for i in 0..<max(count, 0) {
        if let e = element(i) {
            current.append(e)
        } else if !current.isEmpty {
            runs.append(current)
            current = []
        }
    }
    if !current.isEmpty { runs.append(current) }
    return runs
}
