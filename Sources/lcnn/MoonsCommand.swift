import ArgumentParser
import Foundation
import LCNNKit

/// `lcnn moons`: the paper's Figure 1a/b — Standard and LCNN on two moons, with and without
/// label noise, decision boundaries side by side.
struct MoonsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moons",
        abstract: "Train Standard and LCNN on two moons (clean and noisy labels) and draw their decision boundaries (Figure 1a/b).",
        discussion: """
            Writes to --out: one `lcnn train` run directory per model (standard, lcnn, standard-label-noise, \
            lcnn-label-noise) and moons.svg / moons.png.
            Example: lcnn moons --out runs/moons
            """)

    @OptionGroup var options: MoonsOptions
    @Option(help: "Output directory.") var out = "runs/moons"

    func run() throws {
        let experiment = try options.experiment()
        let directory = URL(fileURLWithPath: out)
        let runs = try Self.train(experiment, into: directory)
        let figure = try DecisionBoundaryFigure.render(runs, into: directory, resolution: options.resolution)
        figure.findings.forEach { print("  " + $0) }
        print("figure: \(figure.svg.path), \(figure.png.path)")
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
        guard e.epochs > 0, e.count >= 4, e.noise >= 0, resolution >= 8 else {
            throw ValidationError("--epochs must be positive, --count at least 4, --noise non-negative and --resolution at least 8")
        }
        return e
    }
}
