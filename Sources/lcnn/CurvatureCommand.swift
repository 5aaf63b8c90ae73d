import ArgumentParser
import Foundation
import LCNNKit

/// `lcnn curvature`: the curvature measurements (G1–G5) and the data-free bound (B8) alone.
struct CurvatureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curvature",
        abstract: "Gradient norm, Hessian spectral norm, normalised curvature (and optionally G4, G5) of checkpoints.",
        discussion: "The same as `lcnn eval --no-attacks`; see `lcnn eval --help` for the options and outputs.")

    @OptionGroup var shared: EvalCommand.Shared

    func run() throws { try EvalCommand.evaluate(shared, attacks: false, curvature: true) }
}

/// `lcnn attack`: robust accuracy under one attack per ε.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Robust accuracy of a checkpoint under ℓ2/ℓ∞ PGD, FGSM or DeepFool for a list of ε.",
        discussion: """
            Inputs are in [0, 1] and ε in that scale; already-misclassified inputs count as not robust. \
            Prints one JSON object per ε (and writes attack.jsonl with --out).
            Example: lcnn attack --checkpoint runs/x/best.safetensors --attack pgd-l2 --epsilons 0.05,0.1,0.15,0.2
            """)

    @Option(help: "The checkpoint (written by `lcnn train`).") var checkpoint: String
    @Option(help: "pgd-l2, pgd-linf, fgsm-linf, fgsm-l2 or deepfool.") var attack: AttackKind = .pgdL2
    @Option(help: "Comma-separated ε list.") var epsilons = "0.05,0.1,0.15,0.2"
    @Option(help: "PGD steps.") var steps = 10
    @Option(name: .customLong("step-size"), help: "PGD step size as a multiple of ε (default: 2.5/steps).") var stepSize: Float?
    @Option(help: "Samples from the test set.") var samples = 1000
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = 256
    @Option(help: "The dataset (default: the checkpoint's).") var dataset: DatasetName?
    @Option(help: "Directory holding the dataset files.") var data: String?
    @Option(help: "Seed of the random starts.") var seed: UInt64 = 0
    @Option(help: "Output directory for attack.jsonl.") var out: String?

    func run() throws {
        let model = try CheckpointModel(url: URL(fileURLWithPath: checkpoint))
        let eps = try EvalCommand.parseEpsilons(epsilons)
        let (_, test) = try model.loadData(dataset: dataset, data: data)
        try model.checkInput(sampleShape: test.sampleShape, dataset: test.name)
        var options = AttackOptions(steps: steps, relativeStepSize: stepSize)
        options.inputRange = test.images.rank == 4 ? 0...1 : nil
        let report = robustAccuracy(model: model.model, dataset: test.prefix(samples), attack: attack, epsilons: eps,
                                    options: options, batchSize: batchSize, seed: seed)
        let lines = report.jsonLines()
        lines.forEach { print($0) }
        if let m = report.meanMinimalPerturbation { print("{\"mean_minimal_perturbation\": \(m)}") }
        if let out {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: dir.appendingPathComponent("attack.jsonl"), options: .atomic)
        }
    }
}

extension AttackKind: ExpressibleByArgument {}
