import Foundation
import Testing
@testable import Plotting

@Suite("Writing files")
struct WriteTests {
    @Test func writesSVGAndPNGAtomically() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let target = dir.url.appendingPathComponent("figures/nested")
        let (svgURL, pngURL) = try Fixtures.everything().write(to: target, name: "all")
        #expect(svgURL.lastPathComponent == "all.svg" && pngURL.lastPathComponent == "all.png")
        let files = try FileManager.default.contentsOfDirectory(atPath: target.path).sorted()
        #expect(files == ["all.png", "all.svg"], "no temporary files left behind: \(files)")
        let png = try [UInt8](Data(contentsOf: pngURL))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(SVGParse(try String(contentsOf: svgURL, encoding: .utf8)).ok)

        // Writing again replaces the files in place.
        try Figure(panels: [Panel(title: "second")]).write(to: target, name: "all")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).sorted() == ["all.png", "all.svg"])
        #expect(try String(contentsOf: svgURL, encoding: .utf8).contains("second"))
    }

    @Test func invalidFiguresWriteNothing() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let bad = Figure(panels: [Panel(marks: [.line(Line(xs: [1], ys: [], color: RGB(0, 0, 0)))])])
        #expect(throws: PlotError.self) { try bad.write(to: dir.url, name: "bad") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).isEmpty)
    }
}

/// Set PLOTTING_SAMPLE_DIR to write the sample figure there for a look by eye.
@Test(.enabled(if: ProcessInfo.processInfo.environment["PLOTTING_SAMPLE_DIR"] != nil))
func writeSampleFigureForInspection() throws {
    let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PLOTTING_SAMPLE_DIR"]!)
    try Fixtures.everything().write(to: dir, name: "everything")
    try Fixtures.twoRegions().0.write(to: dir, name: "regions")
}
