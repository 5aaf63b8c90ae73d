import Foundation
@testable import Plotting

/// Figures shared by the tests.
enum Fixtures {
    /// 2×2 panels using every mark kind, log axes, legends, a colour bar and awkward labels.
    static func everything() -> Figure {
        let xs = (0..<50).map { Double($0) / 49 }
        let curve = Panel(
            title: "Loss <&> \"accuracy\"", x: Axis("epoch"), y: Axis("loss ‖∇ℓ‖²"),
            marks: [
                .band(Band(xs: xs, lower: xs.map { $0 * $0 - 0.1 }, upper: xs.map { $0 * $0 + 0.1 },
                           color: Palette.color(0), label: "± std")),
                .line(Line(xs: xs, ys: xs.map { $0 * $0 }, color: Palette.color(0), label: "train β=0.9")),
                .line(Line(xs: xs, ys: xs.map { 1 - $0 }, color: Palette.color(1), style: .dashed, label: "test")),
                .line(Line(xs: xs, ys: xs.map { 0.5 + 0.1 * sin(10 * $0) }, color: Palette.color(2), style: .dotted)),
                .text(TextNote(x: 0.1, y: 0.9, text: "a < b & c")),
            ])
        let logPanel = Panel(
            title: "γ vs ε (log–log)", x: Axis("ε", scale: .log10), y: Axis("γ", scale: .log10),
            marks: [
                .line(Line(xs: [1e-3, 1e-2, 1e-1, 1], ys: [1e2, 1e1, 1, 1e-1], color: Palette.color(3), label: "fit")),
                .points(Points(xs: [1e-3, 1e-2, 1e-1, 1], ys: [1.2e2, 0.9e1, 1.1, 0.1],
                               colors: [Palette.color(4)], shape: .triangle, label: "runs", outline: RGB(0, 0, 0))),
            ], legend: .bottomLeft)
        let n = 40
        var classes: [Int] = []
        for row in 0..<n {
            for col in 0..<n { classes.append(col + row > n ? 1 : (col > 3 * n / 4 ? 2 : 0)) }
        }
        let regions = Panel(
            title: "Decision regions", x: Axis("x₁"), y: Axis("x₂"),
            marks: [
                .classRegions(ClassRegions(columns: n, rows: n, classes: classes, x: -1...1, y: -1...1,
                                           classNames: ["zero", "one", "two"])),
                .points(Points(xs: [-0.5, 0.5, 0.8], ys: [-0.5, 0.5, -0.8], colors: [0, 1, 2].map(Palette.color),
                               radius: 3, label: "data", outline: .white)),
                .points(Points(xs: [0, 0.2], ys: [0.3, -0.2], colors: [RGB(0, 0, 0)], radius: 4, shape: .cross)),
                .points(Points(xs: [-0.2], ys: [0.1], colors: [RGB(0, 0, 0)], shape: .square)),
            ], legend: .topLeft, equalAspect: true)
        let heat = Panel(
            title: "Curvature", x: Axis("u"), y: Axis("v"),
            marks: [
                .heatmap(Heatmap(columns: 30, rows: 20, values: (0..<600).map { Double($0 % 30) - Double($0 / 30) },
                                 x: 0...3, y: 0...2, colormap: .coolwarm, colorbarLabel: "κ")),
            ])
        return Figure(title: "Everything — all marks", panels: [curve, logPanel, regions, heat], columns: 2)
    }

    /// One panel whose class regions fill the plot area: left half red, right half blue.
    static func twoRegions(scale: Int = 2) -> (Figure, left: (Int, Int), right: (Int, Int)) {
        let red = RGB(220, 30, 30), blue = RGB(20, 40, 200)
        let panel = Panel(x: Axis("x"), y: Axis("y"), marks: [
            .classRegions(ClassRegions(columns: 2, rows: 1, classes: [0, 1], x: 0...2, y: 0...1,
                                       colors: [red, blue], drawBoundaries: false)),
        ], legend: .none)
        let figure = Figure(panels: [panel], panelWidth: 200, panelHeight: 160)
        let plot = FigureLayout(figure).panels[0].plot
        let s = Double(scale)
        let left = (Int((plot.x + plot.width * 0.25) * s), Int(plot.midY * s))
        let right = (Int((plot.x + plot.width * 0.75) * s), Int(plot.midY * s))
        return (figure, left, right)
    }
}

/// A fresh temporary directory, removed by `remove()`.
struct TempDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("plotting-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
