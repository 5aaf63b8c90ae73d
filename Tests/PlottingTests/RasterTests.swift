import Foundation
import Testing
@testable import Plotting

@Suite("Rasteriser")
struct RasterTests {
    func isRed(_ c: RGB) -> Bool { c.r > 180 && c.g < 100 && c.b < 100 }

    @Test func diagonalLineColoursPixelsAlongTheDiagonal() {
        let red = RGB(230, 0, 0)
        let figure = Figure(panels: [Panel(x: Axis(limits: 0...1), y: Axis(limits: 0...1), marks: [
            .line(Line(xs: [0, 1], ys: [0, 1], color: red, width: 2)),
        ])])
        let scale = 2
        let image = figure.raster(scale: scale)
        #expect(image.width == figure.size.width * scale && image.height == figure.size.height * scale)
        let plot = FigureLayout(figure).panels[0].plot
        for t in stride(from: 0.05, through: 0.95, by: 0.05) {
            let x = Int((plot.x + plot.width * t) * Double(scale))
            let y = Int((plot.maxY - plot.height * t) * Double(scale))
            #expect(isRed(image.pixel(x: x, y: y)), "pixel at t = \(t): \(image.pixel(x: x, y: y))")
            // Well off the diagonal nothing is red.
            let off = image.pixel(x: x, y: Int((plot.maxY - plot.height * (1 - t)) * Double(scale)))
            if abs(t - 0.5) > 0.1 { #expect(!isRed(off), "off-diagonal pixel at t = \(t) is red") }
        }
        #expect(image.pixel(x: 0, y: 0) == RGB(255, 255, 255))
    }

    @Test func titleTextPutsDarkPixelsWhereTheTitleIs() {
        let figure = Figure(title: "Title text", panels: [Panel(title: "panel")])
        let image = figure.raster(scale: 2)
        // The figure title is centred, baseline at y = 21 (SVG units), 1.5-unit glyph pixels.
        var dark = 0
        for y in 20..<44 {
            for x in (image.width / 2 - 60)..<(image.width / 2 + 60) {
                let c = image.pixel(x: x, y: y)
                if Int(c.r) + Int(c.g) + Int(c.b) < 200 { dark += 1 }
            }
        }
        #expect(dark > 200, "dark title pixels: \(dark)")
        // Far from any text the band is white.
        #expect(image.pixel(x: 4, y: 30) == RGB(255, 255, 255))
    }

    @Test func bandsBlendAndMarkersFill() {
        let blue = RGB(0, 0, 255)
        let figure = Figure(panels: [Panel(x: Axis(limits: 0...1), y: Axis(limits: 0...1), marks: [
            .band(Band(xs: [0, 1], lower: [0, 0], upper: [1, 1], color: blue, opacity: 0.5)),
            .points(Points(xs: [0.25], ys: [0.75], colors: [RGB(0, 160, 0)], radius: 6, shape: .square)),
        ], legend: .none)])
        let image = figure.raster(scale: 2)
        let l = FigureLayout(figure).panels[0]
        let mid = l.point(0.55, 0.3)!  // between grid lines
        let c = image.pixel(x: Int(mid.x * 2), y: Int(mid.y * 2))
        #expect(c.b == 255 && c.r > 100 && c.r < 150, "half-transparent blue over white: \(c)")
        let marker = l.point(0.25, 0.75)!
        #expect(image.pixel(x: Int(marker.x * 2), y: Int(marker.y * 2)) == RGB(0, 160, 0))
    }

    @Test func marksAreClippedToThePlotArea() {
        let figure = Figure(panels: [Panel(x: Axis(limits: 0...1), y: Axis(limits: 0...1), marks: [
            .line(Line(xs: [-1, 2], ys: [0.5, 0.5], color: RGB(230, 0, 0), width: 4)),
        ])])
        let image = figure.raster(scale: 2)
        let l = FigureLayout(figure).panels[0]
        let y = Int(l.y.position(0.5)! * 2)
        #expect(isRed(image.pixel(x: Int(l.plot.midX * 2), y: y)))
        #expect(image.pixel(x: Int(l.plot.x * 2) - 12, y: y) == RGB(255, 255, 255))
        #expect(image.pixel(x: Int(l.plot.maxX * 2) + 6, y: y) == RGB(255, 255, 255))
    }

    @Test func rasterisingAFullFigureIsFast() {
        let figure = Fixtures.everything()
        let start = Date()
        let image = figure.raster(scale: 2)
        let elapsed = Date().timeIntervalSince(start)
        #expect(image.width == 1520)
        #expect(elapsed < 3, "rasterising took \(elapsed) s")
    }
}
