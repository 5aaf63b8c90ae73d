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

    /// The options `lcnn eval` and `lcnn curvature` share.
    struct Shared: ParsableArguments {
        @Option(help: "A checkpoint to evaluate (repeat for several models; the Standard run, if present, is the cost reference).")
        var checkpoint: [String] = []
        @Option(help: "The dataset (default: the one the first checkpoint was trained on).") var dataset: DatasetName?
        @Option(help: "Directory holding the dataset files.") var data: String?
        @Option(help: "Samples measured (from the test set, and from the training set for the discrepancy).") var samples = 500
        @Option(name: .customLong("batch-size"), help: "Batch size of the measurements.") var batchSize = 100
        @Option(name: .customLong("power-iterations"), help: "Power iterations for the Hessian spectral norm.") var powerIterations = 20
        @Option(help: "Relative tolerance at which a sample's power iteration counts as converged.") var tolerance: Float = 1e-3
        @Option(help: "Comma-separated ε list for the attacks (inputs in [0, 1]).") var epsilons = "0.05,0.1,0.15,0.2"
        @Flag(name: .customLong("no-curvature"), help: "Skip G1–G3 and G6.") var noCurvature = false
        @Flag(name: .customLong("no-discrepancy"), help: "Skip the train–test discrepancy (G6).") var noDiscrepancy = false
        @Flag(name: .customLong("no-attacks"), help: "Skip PGD and FGSM.") var noAttacks = false
        @Flag(help: "Also estimate the Hessian's Frobenius norm (Hutchinson, G4).") var frobenius = false
        @Flag(name: .customLong("gradient-robustness"), help: "Also measure gradient robustness under noise (G5).") var gradientRobustness = false
        @Flag(help: "Also certify ℓ2 robustness at each ε: Lipschitz-margin and curvature certificates from guaranteed bounds of the model.") var certify = false
        @Option(help: "Seed of the random starts and directions.") var seed: UInt64 = 0
        @Option(help: "Output directory for eval.jsonl, eval.csv and tables.md.") var out: String?
        @Flag(help: DistributedLaunch.help) var distributed = false
    }

    @OptionGroup var shared: Shared

    static func options(_ a: Shared, attacks: Bool, curvature: Bool) throws -> EvaluationOptions {
        var o = EvaluationOptions()
        o.samples = a.samples
        o.batchSize = a.batchSize
        o.powerIterations = a.powerIterations
        o.tolerance = a.tolerance
        o.curvature = curvature && !a.noCurvature
        o.discrepancy = !a.noDiscrepancy
        o.robustness = attacks && !a.noAttacks
        o.fgsm = attacks && !a.noAttacks
        o.frobenius = a.frobenius
        o.gradientRobustness = a.gradientRobustness
        o.seed = a.seed
        o.certify = a.certify
        o.epsilons = try parseEpsilons(a.epsilons)
        guard a.samples > 0, a.batchSize > 0, a.powerIterations > 0 else {
            throw ValidationError("--samples, --batch-size and --power-iterations must be positive")
        }
        return o
    }

    func run() throws { try Self.evaluate(shared, attacks: true, curvature: true) }

    /// Parses a comma-separated list of non-negative ε.
    static func parseEpsilons(_ text: String) throws -> [Float] {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ValidationError("--epsilons must be a comma-separated list of non-negative numbers, got \(text)")
        }
        return values.map { $0! }
    }

    /// With `--distributed`, every process measures its part of the samples
    /// (``ShardedMeasurement``) and rank 0 prints and writes the results.
    static func evaluate(_ a: Shared, attacks: Bool, curvature: Bool) throws {
        guard !a.checkpoint.isEmpty else { throw ValidationError("give at least one --checkpoint FILE") }
        let options = try options(a, attacks: attacks, curvature: curvature)
        let communicator = try DistributedLaunch.communicator(a.distributed)
        try DistributedLaunch.run(communicator, command: curvature && !attacks ? "lcnn curvature" : "lcnn eval") {
            try evaluate(a, options: options, communicator: communicator)
        }
    }

    static func evaluate(_ a: Shared, options: EvaluationOptions, communicator: any Communicator) throws {
        let models = try a.checkpoint.map { try CheckpointModel(url: URL(fileURLWithPath: $0)) }
        let (train, test) = try models[0].loadData(dataset: a.dataset, data: a.data)
        var results: [EvaluationResult] = []
        for m in models {
            if communicator.isRoot {
                print("evaluating \(m.label) from \(m.url.lastPathComponent) on \(test.name) (\(min(a.samples, test.count)) samples"
                      + (communicator.size > 1 ? " over \(communicator.size) processes" : "") + ")…")
            }
            if let result = try Evaluation.evaluate(m, train: train, test: test, options: options, communicator: communicator) {
                results.append(result)
            }
        }
        guard communicator.isRoot else { return }
        let report = EvaluationReport(results)
        print(report.markdown)
        if let out = a.out {
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
