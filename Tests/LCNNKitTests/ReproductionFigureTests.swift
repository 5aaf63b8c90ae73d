import Foundation
import Testing
@testable import LCNNKit

/// The figures `lcnn reproduce` draws: all six appear in the report with their files and the
/// command that redraws them.
@Suite("Reproduction figures", .serialized)
struct ReproductionFigureTests {
    /// Small settings so a debug build draws everything in seconds.
    static func smallFigures() -> ReproductionFigures {
        var figures = ReproductionFigures()
        figures.moons.epochs = 20
        figures.moons.count = 60
        figures.moons.hiddenWidths = [8, 8]
        figures.suite.samples = 8
        figures.suite.levels = 3
        figures.suite.resolution = 16
        return figures
    }

    @Test("every figure generator writes its files and a regenerating command into report.md")
    func figuresInReport() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-figures")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try ReproductionTests.tinyPlan(["standard", "lcnn"], epochs: 6)
        let reproduction = Reproduction(plan: plan, outputPath: dir.path, commandLine: "lcnn reproduce --dataset moons")
        let figures = Self.smallFigures()
        _ = try reproduction.run(figureGenerators: figures.generators)

        let report = try ReproductionTests.read(dir.appendingPathComponent("report.md"))
        for (title, file) in [("Figure 1a/b", "figures/moons/moons"), ("Figure 1c", "figures/activations"),
                              ("Figure 2", "figures/gradient-robustness"), ("Decision boundary near an input", "figures/boundary-plane"),
                              ("Decision regions", "figures/regions"), ("Path-connectedness", "figures/class-path")] {
            #expect(report.contains("### \(title)"), "report lacks \(title)")
            #expect(report.contains("(\(file).png)"), "report lacks the image link of \(title)")
            for ext in ["svg", "png"] {
                #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(file).\(ext)").path), "\(file).\(ext) missing")
            }
        }
        #expect(report.contains("lcnn plot boundary --checkpoint \(dir.path)/runs/standard/"))
        #expect(report.contains("lcnn plot path --checkpoint"))
        #expect(!report.contains("— failed"), "a figure generator failed:\n\(report)")
    }

    @Test("a figure's entry uses paths relative to report.md")
    func relativePaths() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-relative")
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = ReproductionOutcome(directory: dir, directoryPath: "runs/x", plan: try ReproductionTests.tinyPlan(), runs: [])
        let figure = try ActivationFigure.render(betas: [1], into: dir.appendingPathComponent("figures"))
        let entry = ReproductionFigures.entry(figure, relativeTo: outcome, command: "lcnn plot activations --out runs/x/figures")
        #expect(entry.png == "figures/activations.png" && entry.svg == "figures/activations.svg")
    }

    @Test("figures of runs the reproduction does not have are refused with a message")
    func missingRuns() throws {
        let outcome = ReproductionOutcome(directory: TrainFixtures.temporaryDirectory("repro-none"), directoryPath: "runs/x",
                                          plan: try ReproductionTests.tinyPlan(), runs: [])
        #expect(throws: TrainingError.self) { try Self.smallFigures().robustnessFigure(outcome) }
    }
}
