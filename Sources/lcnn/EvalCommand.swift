import ArgumentParser
import Datasets
import Foundation
import LCNNKit

/// `lcnn eval`: curvature, robustness and the data-free bound of trained checkpoints, as the
/// paper's Tables 1–3.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure curvature (G1–G6), robust accuracy (ℓ2 PGD, FGSM) and the data-free bound of checkpoints.",
        discussion: """
            Each --checkpoint is a file written by `lcnn train` (best.safetensors or last.safetensors); its \
            metadata rebuilds the model. Prints the tables and, with --out, writes eval.jsonl (one object \
            per checkpoint), eval.csv and tables.md.
            Example: lcnn eval --checkpoint runs/std/best.safetensors --checkpoint runs/lcnn/best.safetensors --dataset fashion-mnist --out runs/eval
            """)

    @Option(help: "A checkpoint to evaluate (repeat for several models; the Standard run, if present, is the cost reference).")
    var checkpoint: [String] = []
    @Option(help: "The dataset (default: the one the first checkpoint was trained on).") var dataset: DatasetName?
    @Option(help: "Directory holding the dataset files.") var data: String?
    @Option(help: "Samples measured (from the test set, and from the training set for the discrepancy).") var samples = 500
    @Option(name: .customLong("batch-size"), help: "Batch size of the measurements.") var batchSize = 100
    @Option(name: .customLong("power-iterations"), help: "Power iterations for the Hessian spectral norm.") var powerIterations = 20
    @Option(help: "Comma-separated ε list for the attacks (inputs in [0, 1]).") var epsilons = "0.05,0.1,0.15,0.2"
    @Flag(name: .customLong("no-curvature"), help: "Skip G1–G3 and G6.") var noCurvature = false
    @Flag(name: .customLong("no-discrepancy"), help: "Skip the train–test discrepancy (G6).") var noDiscrepancy = false
    @Flag(name: .customLong("no-attacks"), help: "Skip PGD and FGSM.") var noAttacks = false
    @Flag(help: "Also estimate the Hessian's Frobenius norm (Hutchinson, G4).") var frobenius = false
    @Flag(name: .customLong("gradient-robustness"), help: "Also measure gradient robustness under noise (G5).") var gradientRobustness = false
    @Option(help: "Seed of the random starts and directions.") var seed: UInt64 = 0
    @Option(help: "Output directory for eval.jsonl, eval.csv and tables.md.") var out: String?

    func options() throws -> EvaluationOptions {
        var o = EvaluationOptions()
        o.samples = samples
        o.batchSize = batchSize
        o.powerIterations = powerIterations
        o.curvature = !noCurvature
        o.discrepancy = !noDiscrepancy
        o.robustness = !noAttacks
        o.fgsm = !noAttacks
        o.frobenius = frobenius
        o.gradientRobustness = gradientRobustness
        o.seed = seed
        let values = epsilons.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ValidationError("--epsilons must be a comma-separated list of non-negative numbers, got \(epsilons)")
        }
        o.epsilons = values.map { $0! }
        guard samples > 0, batchSize > 0, powerIterations > 0 else {
            throw ValidationError("--samples, --batch-size and --power-iterations must be positive")
        }
        return o
    }

    func run() throws {
        guard !checkpoint.isEmpty else { throw ValidationError("give at least one --checkpoint FILE") }
        let options = try options()
        let models = try checkpoint.map { try CheckpointModel(url: URL(fileURLWithPath: $0)) }
        let first = models[0].trainConfig
        let name = dataset ?? first?.dataset ?? .fashionMNIST
        let (train, test) = try name.load(directory: data ?? first?.dataDirectory, seed: first?.seed ?? 0,
                                          moonsCount: first?.moonsCount ?? 1000, moonsNoise: first?.moonsNoise ?? 0.1,
                                          moonsLabelNoise: first?.moonsLabelNoise ?? 0)
        var results: [EvaluationResult] = []
        for m in models {
            print("evaluating \(m.label) from \(m.url.lastPathComponent) on \(test.name) (\(min(samples, test.count)) samples)…")
            results.append(try Evaluation.evaluate(m, train: train, test: test, options: options))
        }
        let report = EvaluationReport(results)
        print(report.markdown)
        if let out {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let lines = try results.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
            try Data(lines.utf8).write(to: dir.appendingPathComponent("eval.jsonl"), options: .atomic)
            try Data(report.csv.utf8).write(to: dir.appendingPathComponent("eval.csv"), options: .atomic)
            try Data(report.markdown.utf8).write(to: dir.appendingPathComponent("tables.md"), options: .atomic)
            print("results in \(dir.path)")
        }
    }
}
