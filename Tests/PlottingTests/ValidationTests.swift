import Foundation
import Testing
@testable import Plotting

@Suite("Validation of bad input")
struct ValidationTests {
    /// The PlotError `body` throws (failing the test when it throws nothing or something else).
    func plotError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> PlotError? {
        do {
            try body()
            Issue.record("expected a PlotError", sourceLocation: sourceLocation)
        } catch let error as PlotError {
            return error
        } catch {
            Issue.record("expected a PlotError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func mismatchedLengthsThrowNamingPanelAndMark() {
        let figure = Figure(panels: [
            Panel(title: "ok"),
            Panel(title: "broken", marks: [.line(Line(xs: [1, 2, 3], ys: [1, 2], color: RGB(0, 0, 0), label: "loss"))]),
        ])
        let error = plotError { _ = try figure.png() }
        guard case .mismatchedLengths(let message)? = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(message.contains("panel 1") && message.contains("broken") && message.contains("loss"), "\(message)")
        #expect(SVGParse(figure.svg()).ok, "svg() still renders")
        _ = figure.raster(scale: 1)

        let points = Figure(panels: [Panel(marks: [.points(Points(xs: [1, 2], ys: [1, 2], colors: [.init(0, 0, 0), .init(1, 1, 1), .init(2, 2, 2)]))])])
        #expect(throws: PlotError.self) { try points.validate() }
        let band = Figure(panels: [Panel(marks: [.band(Band(xs: [1, 2], lower: [0], upper: [1, 2], color: .init(0, 0, 0)))])])
        #expect(throws: PlotError.self) { try band.validate() }
        _ = band.svg()
        _ = band.raster(scale: 1)

        // An opacity outside [0, 1] is refused by validation, and the raster does not trap on it.
        for opacity in [-0.5, 1.5, Double.nan] {
            let shaded = Figure(panels: [Panel(marks: [.band(Band(xs: [0, 1], lower: [0, 0], upper: [1, 1],
                                                                  color: .init(0, 0, 0), opacity: opacity))])])
            #expect { try shaded.validate() } throws: { "\($0)".contains("opacity") }
            _ = shaded.raster(scale: 1)
        }
    }

    @Test func badGridsThrow() throws {
        let regions = Figure(panels: [Panel(marks: [
            .classRegions(ClassRegions(columns: 3, rows: 2, classes: [0, 1, 0], x: 0...1, y: 0...1)),
        ])])
        let error = plotError { try regions.validate() }
        guard case .invalidGrid(let message)? = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(message.contains("3 cells") && message.contains("panel 0"), "\(message)")
        #expect(!"\(PlotError.invalidGrid(message))".isEmpty)
        #expect(SVGParse(regions.svg()).ok)
        _ = regions.raster(scale: 1)

        let heat = Figure(panels: [Panel(marks: [.heatmap(Heatmap(columns: 0, rows: 2, values: [], x: 0...1, y: 0...1))])])
        #expect(throws: PlotError.self) { try heat.png() }
        #expect(throws: PlotError.self) { try Figure(panels: []).validate() }
    }

    @Test func nonPositiveValuesOnLogAxesThrow() {
        let figure = Figure(panels: [Panel(y: Axis(scale: .log10), marks: [
            .line(Line(xs: [1, 2, 3], ys: [1, 0, 2], color: RGB(0, 0, 0))),
        ])])
        let error = plotError { try figure.validate() }
        guard case .nonPositiveOnLogScale(let message)? = error else {
            Issue.record("wrong error \(String(describing: error))")
            return
        }
        #expect(message.contains("panel 0, mark 0"), "\(message)")
        #expect(SVGParse(figure.svg()).ok)
    }

    @Test func nonFiniteValuesAreSkipped() throws {
        let xs = (0..<20).map(Double.init)
        var ys = xs.map { $0 * $0 }
        ys[5] = .nan
        ys[12] = .infinity
        let figure = Figure(panels: [Panel(marks: [
            .line(Line(xs: xs, ys: ys, color: Palette.color(0), label: "with gaps")),
            .points(Points(xs: [.nan, 1], ys: [1, .nan], colors: [RGB(0, 0, 0)])),
            .band(Band(xs: xs, lower: ys.map { $0 - 1 }, upper: ys.map { $0 + 1 }, color: Palette.color(1))),
            .heatmap(Heatmap(columns: 2, rows: 1, values: [.nan, .nan], x: 0...1, y: 0...1)),
        ])])
        try figure.validate()
        let svg = figure.svg()
        let parse = SVGParse(svg)
        #expect(parse.ok)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        // The NaN and the infinity break the line into three polylines.
        #expect(parse.elements.filter { $0 == "polyline" }.count == 3 + 1, "three runs plus the legend swatch")
        #expect(try !figure.png(scale: 1).isEmpty)
    }
}

@Test func dataFarOutsideTheLimitsIsClippedWithoutCrashing() throws {
    let huge = 1e300
    let figure = Figure(panels: [Panel(x: Axis(limits: 0...1), y: Axis(limits: 0...1), marks: [
        .line(Line(xs: [0, huge, -huge], ys: [0, huge, 0.5], color: RGB(200, 0, 0), style: .dashed)),
        .line(Line(xs: [0, 1], ys: [-huge, huge], color: RGB(0, 0, 200), style: .dotted)),
        .points(Points(xs: [huge, -huge], ys: [0.5, huge], colors: [RGB(0, 0, 0)])),
        .band(Band(xs: [0, huge], lower: [-huge, 0], upper: [huge, 1], color: RGB(0, 200, 0))),
        .text(TextNote(x: huge, y: -huge, text: "far away")),
    ])])
    try figure.validate()
    #expect(SVGParse(figure.svg()).ok)
    #expect(try !figure.png(scale: 1).isEmpty)
}
