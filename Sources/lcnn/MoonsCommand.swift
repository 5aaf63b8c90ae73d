import ArgumentParser
import Foundation
import LCNNKit
import NN

/// `lcnn moons`: the paper's Figure 1a/b — Standard and LCNN on two moons, with and without
/// label noise, decision boundaries side by side.
struct MoonsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moons",
        abstract: "Train Standard and LCNN on two moons (clean and noisy labels) and draw their decision boundaries (Figure 1a/b).",
        discussion: """
            Writes to --out: one `lcnn train` run directory per model (standard, lcnn, standard-label-noise, \
            lcnn-label-noise) and moons.svg / moons.png.
            The LCNN penalty defaults to λβ = 1e-2, λγ = 1e-3, chosen for the default settings by the paper's rule \
            (appendix E: the largest powers of 10 that keep accuracy within 1 point of Standard's); \
            --select-penalty reruns that choice (31 short trainings, a few minutes) for the options given.
            Example: lcnn moons --out runs/moons
            """)

    @OptionGroup var options: MoonsOptions
    @Option(help: "Output directory.") var out = "runs/moons"
    @Flag(name: .customLong("select-penalty"),
          help: "Rerun the choice of the LCNN penalty (paper appendix E) on held-out points and print the grid; trains nothing else.")
    var selectPenalty = false

    func run() throws {
        let experiment = try options.experiment()
        if selectPenalty {
            try Self.printSelection(experiment)
            return
        }
        let directory = URL(fileURLWithPath: out)
        let runs = try Self.train(experiment, into: directory)
        let figure = try DecisionBoundaryFigure.render(runs, into: directory, resolution: options.resolution)
        figure.findings.forEach { print("  " + $0) }
        print("figure: \(figure.svg), \(figure.png)")
    }

    /// Runs ``MoonsExperiment/selectPenalty(betaWeights:gammaWeights:tolerance:validationCount:progress:)``
    /// and prints each candidate and the choice.
    static func printSelection(_ experiment: MoonsExperiment) throws {
        print("choosing the LCNN penalty: the largest (λβ, λγ) whose LCNN is at most 1 point less accurate than Standard "
              + "on held-out points (paper appendix E)…")
        let selection = try experiment.selectPenalty { c in
            print(String(format: "  λβ = %-6g λγ = %-6g  accuracy %6.2f%%  final β %-7.3g γ %-7.3g %@", c.penalty.betaWeight,
                         c.penalty.gammaWeight, c.validationAccuracy * 100, c.meanBeta ?? .nan, c.meanGamma ?? .nan,
                         c.admissible ? "admissible" : ""))
        }
        print(String(format: "Standard: %.2f%% on %d held-out points", selection.standardAccuracy * 100, selection.validationCount))
        if let chosen = selection.chosen {
            print(String(format: "chosen: --beta-penalty %g --gamma-penalty %g", chosen.penalty.betaWeight, chosen.penalty.gammaWeight))
        } else {
            print("no pair of the grid keeps the accuracy within 1 point of Standard's")
        }
    }

    /// Trains every run of `experiment`, printing one line per model.
    static func train(_ experiment: MoonsExperiment, into directory: URL) throws -> [MoonsExperiment.TrainedRun] {
        try experiment.train(into: directory) { run, trained in
            if let trained {
                print(String(format: "  %@: train %.1f%%  test %.1f%%", run.name, trained.trainAccuracy * 100, trained.testAccuracy * 100))
            } else {
                print("training \(run.name) (\(run.config.epochs) epochs)…")
            }
        }
    }
}

/// The two-moons experiment's options, shared by `lcnn moons` and `lcnn demo`.
struct MoonsOptions: ParsableArguments {
    @Option(help: "Epochs per model (default 600).") var epochs: Int?
    @Option(help: "Training points (default 300).") var count: Int?
    @Option(help: "Noise std of the points (default 0.15).") var noise: Float?
    @Option(name: .customLong("label-noise"), help: "Fraction of flipped labels of the noisy row (default 0.2; 0 draws only the clean row).")
    var labelNoise: Float?
    @Option(help: "Seed of the data, initialisation and batches.") var seed: UInt64 = 0
    @Option(help: "Grid cells across the decision-boundary picture.") var resolution = 240
    @Option(name: .customLong("beta-penalty"), help: "λβ of the LCNN runs' penalty (default 1e-2, see --select-penalty of lcnn moons).")
    var betaPenalty: Float?
    @Option(name: .customLong("gamma-penalty"), help: "λγ of the LCNN runs' penalty (default 1e-3).") var gammaPenalty: Float?

    func experiment() throws -> MoonsExperiment {
        var e = MoonsExperiment()
        if let epochs { e.epochs = epochs }
        if let count { e.count = count }
        if let noise { e.noise = noise }
        if let labelNoise {
            guard (0..<0.5).contains(labelNoise) else { throw ValidationError("--label-noise must be in [0, 0.5), got \(labelNoise)") }
            e.labelNoises = labelNoise > 0 ? [0, labelNoise] : [0]
        }
        e.seed = seed
        if let betaPenalty { e.penalty.betaWeight = betaPenalty }
        if let gammaPenalty { e.penalty.gammaWeight = gammaPenalty }
        guard e.epochs > 0, e.count >= 4, e.noise >= 0, resolution >= 8 else {
            throw ValidationError("--epochs must be positive, --count at least 4, --noise non-negative and --resolution at least 8")
        }
        guard e.penalty.betaWeight >= 0, e.penalty.gammaWeight >= 0, e.penalty.betaWeight.isFinite, e.penalty.gammaWeight.isFinite else {
            throw ValidationError("--beta-penalty and --gamma-penalty must be finite and non-negative")
        }
        return e
    }
}
