import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Plotting

/// Parses SVG text with Foundation's XMLParser and records the elements it saw.
struct SVGParse {
    let elements: [String]
    let texts: [String]
    let error: Error?
    let ok: Bool

    init(_ svg: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        let delegateBox = Box()
        parser.delegate = delegateBox
        ok = parser.parse()
        elements = delegateBox.elements
        texts = delegateBox.texts
        error = parser.parserError
    }

    final class Box: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var texts: [String] = []
        var current: String?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            elements.append(name)
            if name == "text" { current = "" }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text", let c = current { texts.append(c); current = nil }
        }
    }
}

@Suite("SVG output")
struct SVGTests {
    @Test func everyMarkKindGivesWellFormedSVG() {
        let figure = Fixtures.everything()
        let svg = figure.svg()
        let parse = SVGParse(svg)
        #expect(parse.ok, "XML parse error: \(String(describing: parse.error))")
        #expect(parse.elements.first == "svg")
        for element in ["clipPath", "polyline", "polygon", "circle", "rect", "path", "text"] {
            #expect(parse.elements.contains(element), "no <\(element)>")
        }
        #expect(svg.contains("width=\"760\" height=\"\(figure.size.height)\""))
        #expect(figure.size == (760, 670))
        // Labels survive escaping; non-ASCII is kept as is in SVG.
        #expect(parse.texts.contains("Loss <&> \"accuracy\""))
        #expect(parse.texts.contains("a < b & c"))
        #expect(parse.texts.contains("loss ‖∇ℓ‖²"))
        #expect(parse.texts.contains("1e-3"), "log axis decade labels")
        for name in ["zero", "one", "two", "train β=0.9", "test", "± std", "runs", "κ"] {
            #expect(parse.texts.contains(name), "legend/colour bar label \(name)")
        }
        #expect(svg.contains("stroke-dasharray"))
    }

    @Test func specialCharactersAreEscaped() {
        let figure = Figure(panels: [Panel(title: "a<b & c>d", x: Axis("\"x\""))])
        let svg = figure.svg()
        #expect(svg.contains("a&lt;b &amp; c&gt;d"))
        #expect(svg.contains("&quot;x&quot;"))
        #expect(SVGParse(svg).ok)
    }

    @Test func largeGridsStaySmall() {
        let n = 200
        var classes = [Int](repeating: 0, count: n * n)
        for i in 0..<(n * n) { classes[i] = (i % n) * (i / n) % 3 }  // many runs: worst case
        let values = (0..<(n * n)).map { sin(Double($0)) }
        let figure = Figure(panels: [
            Panel(marks: [.classRegions(ClassRegions(columns: n, rows: n, classes: classes, x: 0...1, y: 0...1))]),
            Panel(marks: [.heatmap(Heatmap(columns: n, rows: n, values: values, x: 0...1, y: 0...1, colorbarLabel: "v"))]),
        ])
        let svg = figure.svg()
        #expect(svg.utf8.count < 2_000_000, "\(svg.utf8.count) bytes")
        #expect(svg.contains("data:image/png;base64,"))
        #expect(SVGParse(svg).ok)

        // A smooth 200×200 class grid is drawn as merged <rect> runs, well under 1 MB.
        let smooth = (0..<(n * n)).map { ($0 % n) + ($0 / n) > n ? 1 : 0 }
        let small = Figure(panels: [Panel(marks: [.classRegions(ClassRegions(
            columns: n, rows: n, classes: smooth, x: 0...1, y: 0...1))])]).svg()
        #expect(small.utf8.count < 200_000, "\(small.utf8.count) bytes")
        #expect(!small.contains("data:image"))
    }

    /// A grid embedded as a PNG keeps data row 0 at the bottom, as the <rect> path and the raster do.
    @Test func embeddedGridsAreTheRightWayUp() throws {
        let n = 120
        // Checkerboards (one run per cell, so the grid is embedded): classes 0/1 in the lower half, 2/3 above.
        let classes = (0..<(n * n)).map { i in (i / n < n / 2 ? 0 : 2) + (i % n + i / n) % 2 }
        let svg = Figure(panels: [Panel(marks: [.classRegions(ClassRegions(columns: n, rows: n, classes: classes,
                                                                           x: 0...1, y: 0...1))])]).svg()
        let start = try #require(svg.range(of: "data:image/png;base64,")).upperBound
        let end = try #require(svg[start...].firstIndex(of: "\""))
        let image = try decodePNG(Array(try #require(Data(base64Encoded: String(svg[start..<end])))))
        #expect(image.width == n && image.height == n)
        func rgb(_ x: Int, _ y: Int) -> RGB {
            let i = (y * n + x) * 4
            return RGB(image.rgba[i], image.rgba[i + 1], image.rgba[i + 2])
        }
        let lower = Set([Palette.light(0), Palette.light(1)]), upper = Set([Palette.light(2), Palette.light(3)])
        #expect(lower.contains(rgb(0, n - 1)) && lower.contains(rgb(5, n - 3)), "the bottom image row shows data row 0")
        #expect(upper.contains(rgb(0, 0)) && upper.contains(rgb(7, 2)), "the top image row shows the last data row")
    }

    @Test func axisLimitsAndPaddingFollowTheData() {
        let figure = Figure(panels: [Panel(marks: [.line(Line(xs: [0, 10], ys: [0, 1], color: .init(0, 0, 0)))])])
        let layout = FigureLayout(figure).panels[0]
        #expect(abs(layout.x.lower - -0.5) < 1e-9 && abs(layout.x.upper - 10.5) < 1e-9)
        let fixed = Figure(panels: [Panel(x: Axis(limits: 0...5), marks: [
            .classRegions(ClassRegions(columns: 1, rows: 1, classes: [0], x: -1...1, y: 2...3)),
        ])])
        let l = FigureLayout(fixed).panels[0]
        #expect(l.x.lower == 0 && l.x.upper == 5)  // explicit limits win
        #expect(l.y.lower == 2 && l.y.upper == 3)  // regions set exact limits
    }

    @Test func equalAspectKeepsUnitsEqual() {
        let figure = Figure(panels: [Panel(x: Axis(limits: 0...4), y: Axis(limits: 0...1), equalAspect: true)])
        let l = FigureLayout(figure).panels[0]
        #expect(abs(l.plot.width / 4 - l.plot.height / 1) < 1)
    }
}
