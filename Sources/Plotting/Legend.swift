/// The legend box and the heatmap colour bar.

private enum Swatch {
    case line(RGB, width: Double, style: LineStyle)
    case marker(MarkerShape, RGB, radius: Double, outline: RGB?)
    case band(RGB, opacity: Double)
    case region(RGB)
}

extension Scene {
    private static func legendEntries(_ panel: Panel) -> [(Swatch, String)] {
        var entries: [(Swatch, String)] = []
        for mark in panel.marks {
            switch mark {
            case .line(let l):
                if let label = l.label { entries.append((.line(l.color, width: l.width, style: l.style), label)) }
            case .points(let p):
                if let label = p.label, !p.colors.isEmpty {
                    entries.append((.marker(p.shape, p.colors[0], radius: min(max(p.radius, 2.5), 5), outline: p.outline), label))
                }
            case .band(let b):
                if let label = b.label { entries.append((.band(b.color, opacity: b.opacity), label)) }
            case .classRegions(let r):
                guard let names = r.classNames, r.isValidGrid else { continue }
                for k in Set(r.classes).sorted() where k >= 0 && k < names.count {
                    entries.append((.region(r.color(of: k)), names[k]))
                }
            case .heatmap, .text:
                continue
            }
        }
        return entries
    }

    mutating func addLegend(_ panel: Panel, _ l: PanelLayout) {
        guard panel.legend != .none else { return }
        let entries = Scene.legendEntries(panel)
        guard !entries.isEmpty else { return }
        let pad = 5.0, rowHeight = 14.0, swatchWidth = 18.0
        let textWidth = entries.map { TextRole.tick.width(of: $0.1) }.max() ?? 0
        let width = pad + swatchWidth + 6 + textWidth + pad + 2
        let height = 2 * pad + Double(entries.count) * rowHeight - 2
        let plot = l.plot
        let left = panel.legend == .topLeft || panel.legend == .bottomLeft
        let top = panel.legend == .topLeft || panel.legend == .topRight
        let box = Rect(x: (left ? plot.x + 6 : plot.maxX - 6 - width).rounded(),
                       y: (top ? plot.y + 6 : plot.maxY - 6 - height).rounded(), width: width.rounded(), height: height)
        ops.append(.rect(box, fill: .white, opacity: 0.88, stroke: RGB(190, 190, 190), strokeWidth: 1))
        for (i, (swatch, label)) in entries.enumerated() {
            let cy = box.y + pad + rowHeight * Double(i) + 6
            let sx = box.x + pad
            switch swatch {
            case .line(let color, let width, let style):
                ops.append(.polyline([Point(x: sx, y: cy), Point(x: sx + swatchWidth, y: cy)], color: color,
                                     width: min(width, 3), style: style))
            case .marker(let shape, let color, let radius, let outline):
                ops.append(.marker(shape, Point(x: sx + swatchWidth / 2, y: cy), radius: radius, fill: color, outline: outline))
            case .band(let color, let opacity):
                ops.append(.rect(Rect(x: sx, y: cy - 5, width: swatchWidth, height: 10), fill: color,
                                 opacity: max(opacity, 0.3), stroke: nil, strokeWidth: 0))
            case .region(let color):
                ops.append(.rect(Rect(x: sx + 3, y: cy - 5, width: swatchWidth - 6, height: 10), fill: color,
                                 opacity: 1, stroke: boundaryColor, strokeWidth: 1))
            }
            ops.append(.text(label, Point(x: sx + swatchWidth + 6, y: cy + 3.5), anchor: .start, role: .tick,
                             color: .black, rotated: false))
        }
    }

    mutating func addColorbar(_ heatmap: Heatmap, _ l: PanelLayout) {
        let plot = l.plot
        let bar = Rect(x: plot.maxX + PanelLayout.colorbarGap, y: plot.y, width: PanelLayout.colorbarWidth, height: plot.height)
        let steps = 96
        let range = heatmap.effectiveRange
        let grid = CellGrid(
            columns: 1, rows: steps,
            colors: (0..<steps).map { heatmap.colormap.color((Double($0) + 0.5) / Double(steps)) },
            xEdges: [bar.x, bar.maxX],
            yEdges: (0...steps).map { bar.maxY - bar.height * Double($0) / Double(steps) })
        ops.append(.cells(grid))
        ops.append(.rect(bar, fill: nil, opacity: 1, stroke: axisColor, strokeWidth: 1))
        var tickMarks: [Point] = []
        var labelWidth = 0.0
        let span = range.upperBound - range.lowerBound
        for t in Ticks.linear(range) {
            let y = bar.maxY - (t - range.lowerBound) / span * bar.height
            tickMarks += [Point(x: bar.maxX, y: y), Point(x: bar.maxX + 3, y: y)]
            let text = Ticks.label(t)
            labelWidth = max(labelWidth, TextRole.tick.width(of: text))
            ops.append(.text(text, Point(x: bar.maxX + 6, y: y + 3.5), anchor: .start, role: .tick,
                             color: axisColor, rotated: false))
        }
        ops.append(.segments(tickMarks, color: axisColor, width: 1))
        if let label = heatmap.colorbarLabel, !label.isEmpty {
            ops.append(.text(label, Point(x: bar.maxX + 6 + labelWidth + 14, y: bar.midY), anchor: .middle,
                             role: .label, color: .black, rotated: true))
        }
    }
}
