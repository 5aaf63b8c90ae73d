import ArgumentParser
import Foundation
import LCNNKit

/// `lcnn demo`: the toolkit in one command, on built-in data, in well under two minutes.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train Standard and LCNN on two moons, measure curvature and robustness, draw Figure 1.",
        discussion: """
            Trains a Standard network and an LCNN on two moons with clean labels and with 20% flipped labels, \
            prints each model's accuracy, gradient norm, Hessian spectral norm, normalised curvature and ℓ2-PGD \
            robust accuracy, and writes the decision boundaries (moons.svg / moons.png) and the activations \
            (activations.svg / activations.png) to --out, with every model's checkpoint.
            Example: lcnn demo --out runs/demo
            """)

    @OptionGroup var moons: MoonsOptions
    @Option(help: "Test points measured per model.") var samples = 500
    @Option(help: "Output directory.") var out = "runs/demo"

    func run() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        let start = Date()
        let directory = URL(fileURLWithPath: out)
        let runs = try MoonsCommand.train(try moons.experiment(), into: directory)

        print("measuring curvature and robustness on \(min(samples, runs.first?.test.count ?? 0)) test points…")
        var options = EvaluationOptions()
        options.samples = samples
        options.powerIterations = 20
        let results = try runs.map { run in
            var result = try Evaluation.evaluate(try CheckpointModel(url: run.checkpoint), train: run.train, test: run.test,
                                                 options: options)
            result.label = run.run.name
            return result
        }
        let report = EvaluationReport(results)
        print("\n" + report.markdown)
        try Data(report.markdown.utf8).write(to: directory.appendingPathComponent("tables.md"), options: .atomic)

        let boundaries = try DecisionBoundaryFigure.render(runs, into: directory, resolution: moons.resolution)
        boundaries.findings.forEach { print("  " + $0) }
        let activations = try ActivationFigure.render(into: directory)
        print("figures: \(boundaries.png.path), \(activations.png.path) (and .svg)")
        print(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
    }
}
