import ArgumentParser
import Foundation
import LCNNKit

/// `lcnn demo`: the toolkit in one command, on built-in data, in well under a minute.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train Standard and LCNN on two moons, measure curvature and robustness, draw Figure 1.",
        discussion: """
            Trains a Standard network and an LCNN on two moons with clean labels and with 20% flipped labels \
            (600 epochs of Adam at 3e-3 on 300 points; the LCNN penalty λβ = 1e-2, λγ = 1e-3 was chosen by the \
            paper's appendix-E rule, rerun it with `lcnn moons --select-penalty`). On the test points it prints, \
            per model: test accuracy and ℓ2-PGD robust accuracy (ε = 0.2) with 95% Wilson intervals; the mean \
            input-gradient norm ‖∇ₓℓ‖, the mean normalised curvature C(x) = ‖∇²ₓℓ‖/‖∇ₓℓ‖ of the per-sample loss \
            and the mean curvature ‖∇²m‖/‖∇m‖ of the logit margin m, with 95% bootstrap intervals; and the \
            training cost as milliseconds per optimiser step (median over epochs).
            Curvature is computed exactly on these 2-D inputs from the logit margin, so C(x) is the paper's \
            ε → 0 quantity on every point: `lcnn eval`'s G3 adds ε = 1e-6 to ‖∇ₓℓ‖, and on points where a \
            confident model's loss gradient is below 1e-6 it reads 0; the table's notes count those points.
            Then, per label-noise level, it states whether the LCNN's curvature is lower than Standard's on the \
            same test points (paired bootstrap, two-sided, α = 0.05), and says so when it is not.
            Writes the table (tables.md, with robust accuracy at every ε), the decision boundaries \
            (moons.svg / moons.png), the activations (activations.svg / activations.png) and every model's \
            checkpoint and metrics.jsonl to --out.
            Example: lcnn demo --out runs/demo
            """)

    @OptionGroup var moons: MoonsOptions
    @Option(help: "Test points measured per model.") var samples = 500
    @Option(help: "Output directory.") var out = "runs/demo"

    /// The ε of the robust-accuracy column: the largest of the paper's ℓ2-PGD ε.
    static let robustEpsilon: Float = AttackKind.paperEpsilons.max() ?? 0.2

    func run() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        let start = Date()
        let directory = URL(fileURLWithPath: out)
        let experiment = try moons.experiment()
        print(String(format: "LCNN penalty: λβ = %g, λγ = %g (%@ form)", experiment.penalty.betaWeight,
                     experiment.penalty.gammaWeight, experiment.penalty.form.rawValue))
        let runs = try MoonsCommand.train(experiment, into: directory)
        let trained = Date()

        let measured = min(samples, runs.first?.test.count ?? 0)
        print("measuring curvature and robustness on \(measured) test points…")
        var options = EvaluationOptions()
        options.samples = samples
        // The demo's curvature is MoonsCurvature's exact 2-D one; `lcnn eval` measures G1–G6 on these checkpoints.
        options.curvature = false
        options.discrepancy = false
        options.fgsm = false
        var results: [EvaluationResult] = []
        var rows: [MoonsSummary.Row] = []
        for run in runs {
            var result = try Evaluation.evaluate(try CheckpointModel(url: run.checkpoint), train: run.train, test: run.test,
                                                 options: options)
            result.label = run.run.name
            results.append(result)
            let curvature = MoonsCurvature.measure(model: run.model, dataset: run.test, count: samples)
            let metricsURL = run.checkpoint.deletingLastPathComponent().appendingPathComponent("metrics.jsonl")
            let metrics = (try? EpochMetrics.readLines(metricsURL)) ?? []
            rows.append(MoonsSummary.row(run: run, evaluation: result, curvature: curvature, metrics: metrics,
                                         robustEpsilon: Self.robustEpsilon))
        }
        let summary = MoonsSummary(rows: rows)
        print("\n" + summary.table + "\n")
        summary.notes.forEach { print("  " + $0) }
        print("")
        summary.findings.forEach { print($0.sentence) }
        let robustTable = EvaluationReport(results).table2
        let tables = "## Two moons: accuracy, curvature, robustness and cost (test set)\n\n\(summary.markdown)\n"
            + "## Robust accuracy at every ε\n\n\(robustTable)\n"
        try Data(tables.utf8).write(to: directory.appendingPathComponent("tables.md"), options: .atomic)

        let measuredAt = Date()
        print("")
        let boundaries = try DecisionBoundaryFigure.render(runs, into: directory, resolution: moons.resolution)
        boundaries.findings.forEach { print("  " + $0) }
        let activations = try ActivationFigure.render(into: directory)
        print("figures: \(boundaries.png), \(activations.png) (and .svg); tables: "
              + directory.appendingPathComponent("tables.md").path)
        print(String(format: "done in %.1f s (training %.1f s, measuring %.1f s, figures %.1f s)", Date().timeIntervalSince(start),
                     trained.timeIntervalSince(start), measuredAt.timeIntervalSince(trained), Date().timeIntervalSince(measuredAt)))
    }
}
