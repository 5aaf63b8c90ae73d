import Datasets
import Foundation
import NN
import Plotting
import TensorCore
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import LCNNKit

/// The figures of SPEC §6 drawn from small, quickly trained two-moons models.
@Suite("Figures (V1–V6)", .serialized)
struct FigureTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-figures-\(UUID().uuidString)")
    }

    /// A short two-moons experiment: Standard and LCNN, clean labels only.
    static func smallExperiment() -> MoonsExperiment {
        var e = MoonsExperiment()
        e.epochs = 40
        e.count = 80
        e.hiddenWidths = [16, 16]
        e.labelNoises = [0]
        return e
    }

    static func expectFiles(_ figure: FigureRecord) throws {
        let parser = XMLParser(data: try Data(contentsOf: figure.svgURL))
        #expect(parser.parse(), "\(figure.svgURL.lastPathComponent) is not well-formed XML: \(String(describing: parser.parserError))")
        let png = try Data(contentsOf: figure.pngURL)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(!figure.findings.isEmpty)
    }

    @Test("connected regions: one per class piece, 4-neighbour")
    func connectedRegions() {
        // 0 0 1
        // 1 0 1   → the 0s form one piece, the 1s two (left cell, right column)
        // 0 0 1
        let grid = ClassGrid(columns: 3, rows: 3, a: 0...1, b: 0...1, classes: [0, 0, 1, 1, 0, 1, 0, 0, 1])
        #expect(grid.connectedRegionCount == 3)
        let checker = ClassGrid(columns: 2, rows: 2, a: 0...1, b: 0...1, classes: [0, 1, 1, 0])
        #expect(checker.connectedRegionCount == 4)
    }

    @Test("swapping a plane grid's axes transposes its cells")
    func swappedRegions() {
        let grid = ClassGrid(columns: 3, rows: 2, a: -1...1, b: 0...2, classes: [0, 1, 2, 3, 4, 5])
        let regions = grid.regions(swapAxes: true)
        #expect(regions.columns == 2 && regions.rows == 3)
        #expect(regions.x == 0...2 && regions.y == -1...1)
        for column in 0..<3 { for row in 0..<2 {
            #expect(regions.classes[column * 2 + row] == grid.classAt(column: column, row: row))
        } }
    }

    @Test("V1: the two-moons experiment trains, and the figure shows each model's regions")
    func moonsFigure() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runs = try Self.smallExperiment().train(into: dir)
        #expect(runs.map(\.run.name) == ["standard", "lcnn"])
        for run in runs {
            #expect(FileManager.default.fileExists(atPath: run.checkpoint.path))
            #expect(run.testAccuracy > 0.75, "\(run.run.name) should learn two moons, test accuracy \(run.testAccuracy)")
        }
        let figure = try DecisionBoundaryFigure.render(runs, into: dir, resolution: 60)
        try Self.expectFiles(figure)
        #expect(figure.findings.count == 2 && figure.findings[0].contains("connected class regions"))
        // The grid agrees with the model at a cell centre.
        let (xw, yw) = DecisionBoundaryFigure.window(runs)
        let grid = try DecisionBoundaryFigure.grid(of: runs[0], x: xw, y: yw, resolution: 30)
        let point = Tensor([grid.aValue(column: 7), grid.bValue(row: 5)], shape: [1, 2])
        #expect(grid.classAt(column: 7, row: 5) == withoutGrad { inferenceClassifier(runs[0].model)(point) }.argmax(axis: -1)[0])
    }

    @Test("label noise adds a second row of runs named after it")
    func noisyRuns() {
        var e = Self.smallExperiment()
        e.labelNoises = [0, 0.2]
        #expect(e.runs.map(\.name) == ["standard", "lcnn", "standard-label-noise", "lcnn-label-noise"])
        #expect(e.runs[2].config.moonsLabelNoise == 0.2 && e.runs[3].config.method == .lcnn)
    }

    @Test("V2: activation curves come from the layers; centered softplus passes through 0")
    func activationFigure() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let figure = try ActivationFigure.render(betas: [0.5, 5], into: dir)
        try Self.expectFiles(figure)
        let centered = ActivationFigure.evaluate(CenteredSoftplus(initialBeta: 0.5), at: [0, 2])
        #expect(abs(centered[0]) < 1e-6)
        #expect(abs(centered[1] - (log(1 + exp(1.0)) - log(2.0)) / 0.5) < 1e-4)
        #expect(abs(ActivationFigure.evaluate(Softplus(beta: 0.5), at: [0])[0] - log(2.0) / 0.5) < 1e-4)
    }

    @Test("V3–V6 from trained models: robustness curves, boundary plane, regions, class path")
    func geometryFigures() throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runs = try Self.smallExperiment().train(into: dir)
        let models: [FigureSuite.NamedModel] = runs.map { ($0.run.name, $0.model) }
        let test = runs[0].test
        var suite = FigureSuite()
        suite.samples = 20
        suite.levels = 3
        suite.resolution = 24

        let robustness = try suite.robustness(models, test: test, into: dir)
        try Self.expectFiles(robustness)
        #expect(robustness.findings.count == 2)

        let boundary = try suite.boundary(models, test: test, classNames: DatasetName.moons.classNames, into: dir)
        try Self.expectFiles(boundary)
        #expect(boundary.findings.allSatisfy { $0.contains("predicted as") })

        suite.regionsRadius = 1.5
        let regions = try suite.regions(models, test: test, classNames: nil, into: dir)
        try Self.expectFiles(regions)
        #expect(regions.findings.allSatisfy { $0.contains("connected regions") })

        var finder = ClassPathFinder()
        finder.inputRange = nil
        let path = try suite.path(models, test: test, finder: finder, into: dir)
        try Self.expectFiles(path)
        #expect(path.findings.allSatisfy { $0.contains("points") })
    }

    @Test("an input index outside the test set is refused with a message")
    func badIndex() throws {
        var suite = FigureSuite()
        suite.inputIndex = 10_000
        let model = ModelConfig(architecture: .mlp, inputShape: [2], classes: 2, hiddenWidths: [4], seed: 1).makeModel()
        let test = TwoMoons.make(count: 10, noise: 0.1, seed: 1)
        #expect(throws: TrainingError.self) {
            try suite.boundary([("m", model)], test: test, classNames: nil, into: Self.temporaryDirectory())
        }
    }
}
