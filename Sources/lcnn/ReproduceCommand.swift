import ArgumentParser
import Datasets
import Foundation
import LCNNKit

#if canImport(Glibc)
import Glibc
#endif

/// `lcnn reproduce`: the paper's protocol (§5, appendix E) on one dataset, into a report.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Run the paper's protocol (all methods + swish vs centered softplus) and write report.md.",
        discussion: """
            Trains Standard, LCNN, GradReg, LCNN+GradReg, CURE, softplus + weight decay, adversarial \
            training and an LCNN with parametric swish (the comparison of the MNIST reproduction) into \
            --out/runs/<name>, measures every checkpoint (Tables 1–3, FGSM, training cost, data-free \
            bound) and writes evaluation.jsonl, tables.md, tables.csv and report.md, which checks the \
            paper's claims against the measured numbers and gives the command that regenerates each \
            result. First it calibrates the regularisation weights as the paper's appendix E did (short runs over a \
            grid of powers of 10; the largest weight within --tolerance points of Standard's accuracy) and, after the \
            Standard run, the ε grids (Standard keeps half its clean accuracy at the grid's second point, as at the \
            paper's ε = 0.1). Every number carries a 95 % interval and every claim a three-way verdict from a paired \
            test. The default size trains the whole training set (3 epochs for SmallCNN) and measures 1,000 samples; \
            --small is for CI and smoke tests; --full uses the paper's 200 epochs. The estimated wall time is printed \
            before anything starts. Rerunning with the same --out reuses finished runs \
            and resumes an interrupted one from its last checkpoint.
            Example: lcnn reproduce --dataset fashion-mnist --out runs/reproduce
            Example: lcnn reproduce --dataset cifar10 --data ~/cifar-10-batches-bin --full --only standard,lcnn
            """)

    @Option(help: "fashion-mnist (default), mnist, cifar10, cifar100 or moons.") var dataset: DatasetName = .fashionMNIST
    @Option(help: "Directory holding the dataset files (default for fashion-mnist: /usr/share/datasets/fashion-mnist).")
    var data: String?
    @Flag(help: "The small size (CI, smoke tests: 6,000 images × 5 epochs, 200 samples) instead of the default.") var small = false
    @Flag(help: "The paper's full protocol (200 epochs) instead of the default size.") var full = false
    @Option(help: "Output directory.") var out = "runs/reproduce"
    @Option(help: "Seed of every run and measurement (the first seed with --seeds).") var seed: UInt64 = 0
    @Option(help: "Train every run with this many seeds (seed, seed+1, …); tables give mean ± std across seeds, claims pool them.")
    var seeds = 1
    @Option(help: "Comma-separated runs to do: \(ReproductionPlan.runNames.joined(separator: ",")).") var only: String?
    @Option(help: "Override the number of epochs of every run.") var epochs: Int?
    @Option(name: .customLong("train-subset"), help: "Override: train on the first N training samples.") var trainSubset: Int?
    @Option(help: "Override: samples measured per run (test, and training for the discrepancy).") var samples: Int?
    @Option(help: "ℓ2 ε grid (comma-separated, inputs in [0, 1]); turns the ε calibration off.") var epsilons: String?
    @Option(name: .customLong("fgsm-epsilons"), help: "ℓ∞ ε grid of FGSM; default: calibrated (or --epsilons).") var fgsmEpsilons: String?
    @Flag(name: .customLong("no-calibration"), help: "Keep the paper's CIFAR-100 weights instead of calibrating them.") var noCalibration = false
    @Option(name: .customLong("lcnn-penalty"), help: "λβ of the LCNN penalty (λγ = λβ/10); not calibrated when given.") var lcnnPenalty: Float?
    @Option(name: .customLong("gradreg-weight"), help: "λg of GradReg; not calibrated when given.") var gradregWeight: Float?
    @Option(name: .customLong("cure-weight"), help: "λ of CURE; not calibrated when given.") var cureWeight: Float?
    @Option(help: "Calibration tolerance in accuracy points below Standard's.") var tolerance: Double = 1
    @Option(name: .customLong("autoattack-samples"),
            help: "Measured samples AutoAttack runs on at the claim ε (0 skips it; default 250, 50 with --small).")
    var autoattackSamples: Int?
    @Flag(name: .customLong("no-certify"), help: "Leave out certified accuracy.") var noCertify = false
    @Flag(name: .customLong("no-progress"), help: "Plain per-epoch lines even on a terminal.") var noProgress = false
    @Flag(name: .customLong("no-figures"), help: "Leave out the figures (Figures 1 and 2 and the geometry pictures).") var noFigures = false
    @Option(name: .customLong("figure-index"), help: "Test input the geometry pictures are drawn around.") var figureIndex = 0
    @Flag(name: .customLong("estimate-only"), help: "Print the plan and its estimated wall time, then stop.") var estimateOnly = false
    @Flag(help: DistributedLaunch.help) var distributed = false

    static func parseList(_ text: String, _ name: String) throws -> [Float] {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("\(name) must be a comma-separated list of non-negative numbers, got \"\(text)\"")
        }
        return values.map { $0! }
    }

    /// The plan these options describe.
    func makePlan() throws -> ReproductionPlan {
        guard !(small && full) else { throw ValidationError("--small and --full exclude each other") }
        var plan = full ? ReproductionPlan.full(dataset: dataset, dataDirectory: data, seed: seed)
            : small ? ReproductionPlan.small(dataset: dataset, dataDirectory: data, seed: seed)
            : ReproductionPlan.standardSize(dataset: dataset, dataDirectory: data, seed: seed)
        if let only {
            plan = try plan.only(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        if let epochs {
            guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
            plan = plan.mapConfigs { $0.epochs = epochs }
        }
        if let trainSubset {
            guard trainSubset > 0 else { throw ValidationError("--train-subset must be positive") }
            plan = plan.mapConfigs { $0.trainSubset = trainSubset }
        }
        if let samples {
            guard samples > 0 else { throw ValidationError("--samples must be positive") }
            plan.evaluation.samples = samples
            if plan.size != .custom { plan.size = .custom }
        }
        if let epsilons {
            plan.evaluation.epsilons = try Self.parseList(epsilons, "--epsilons")
            plan.evaluation.calibrateEpsilons = false
        }
        if let fgsmEpsilons { plan.evaluation.fgsmEpsilons = try Self.parseList(fgsmEpsilons, "--fgsm-epsilons") }
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a number ≥ 0") }
        plan.calibration?.tolerance = tolerance / 100
        if noCalibration { plan.calibration = nil }
        let explicit: [(CalibratedWeight, Float?)] = [(.lcnn, lcnnPenalty), (.gradreg, gradregWeight), (.cure, cureWeight)]
        for (weight, value) in explicit {
            guard let value else { continue }
            guard value >= 0, value.isFinite else { throw ValidationError("weights must be non-negative numbers") }
            plan.calibration?.grids[weight.rawValue] = nil
            plan = plan.mapConfigsKeepingSize { weight.apply(value, to: &$0) }
        }
        if let autoattackSamples {
            guard autoattackSamples >= 0 else { throw ValidationError("--autoattack-samples must be ≥ 0") }
            plan.audit = plan.audit ?? .standard
            plan.audit?.autoAttackSamples = autoattackSamples
        }
        if noCertify { plan.audit?.certify = false }
        if let audit = plan.audit, audit.autoAttackSamples == 0, !audit.certify { plan.audit = nil }
        plan = try plan.replicated(seeds: seeds)
        try plan.validate()
        return plan
    }

    /// The dataset files are missing (printed as `Error: …`, exit status 1).
    struct MissingDataError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// How to get the files of `dataset`, for the missing-data error.
    static func dataHint(_ dataset: DatasetName) -> String {
        switch dataset {
        case .fashionMNIST:
            return "install Debian's package (`apt install dataset-fashion-mnist`, files in /usr/share/datasets/fashion-mnist) "
                + "or pass --data DIR holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
        case .mnist:
            return "pass --data DIR holding the four MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                + "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])"
        case .cifar10, .cifar100:
            return "pass --data DIR holding the CIFAR binary batches (the \"binary version\" archive of the CIFAR site, unpacked)"
        case .moons:
            return "two moons is generated and needs no files"
        }
    }

    func run() throws {
        let plan = try makePlan()
        let communicator = try DistributedLaunch.communicator(distributed)
        try DistributedLaunch.run(communicator, command: "lcnn reproduce") { try run(plan, communicator: communicator) }
    }

    /// The reproduction on this process; under `mpirun` rank 0 prints and writes.
    func run(_ plan: ReproductionPlan, communicator: any Communicator) throws {
        let arguments = CommandLine.arguments.dropFirst()
        let reproduction = Reproduction(plan: plan, outputPath: out, commandLine: ShellQuoting.join(["lcnn"] + arguments))
        reproduction.communicator = communicator
        guard communicator.isRoot else {
            if !estimateOnly { try reproduction.run(figureGenerators: []) }
            return
        }
        let terminal: Bool? = noProgress ? false : nil
        reproduction.trainingProgress = { TrainingProgress(totalEpochs: $0, isTerminal: terminal) }
        reproduction.onEvent = { Self.print($0) }
        Swift.print("reproduce: \(plan.size.rawValue) size on \(plan.dataset.rawValue) with \(plan.architecture.rawValue), "
                    + "\(plan.runs.count) run\(plan.runs.count == 1 ? "" : "s") (\(plan.runs.map(\.name).joined(separator: ", "))) into \(out)"
                    + (communicator.size > 1 ? ", data-parallel over \(communicator.size) processes" : ""))
        if let (train, test) = try? plan.dataset.load(directory: plan.dataDirectory, seed: plan.seed),
           let step = try? ReproductionCost.measureStandardStep(plan.runs[0].config, sampleShape: train.sampleShape, classes: train.classes) {
            let cost = ReproductionCost.estimate(plan, trainCount: train.count, testCount: test.count, standardStep: step)
            Swift.print("estimated wall time: \(cost.summary)")
        }
        if estimateOnly { return }
        let start = Date()
        do {
            var figures = ReproductionFigures()
            figures.suite.inputIndex = figureIndex
            figures.suite.seed = seed
            figures.moons.seed = seed
            try reproduction.run(figureGenerators: noFigures ? [] : figures.generators)
        } catch let error as DatasetError where error.kind == .notFound {
            // The loaders' messages name the file; add how to get the data where they do not say it.
            let message = "\(error)"
            throw MissingDataError(message: message.contains("--data") ? message : "\(message)\nTo get the data: \(Self.dataHint(plan.dataset)).")
        }
        Swift.print(String(format: "report: %@/report.md (%.0f s)", out, Date().timeIntervalSince(start)))
    }

    static func print(_ event: ReproductionEvent) {
        switch event {
        case let .dataLoaded(dataset, train, test):
            Swift.print("data: \(dataset), \(train) training and \(test) test samples")
        case let .runReused(name, epochs):
            Swift.print("[\(name)] finished earlier (\(epochs) epochs): reused")
        case let .runStarted(name, index, count, startEpoch, epochs):
            Swift.print("[\(name)] run \(index + 1)/\(count): " + (startEpoch > 0 ? "resuming at epoch \(startEpoch + 1) of \(epochs)" : "training \(epochs) epochs"))
        case let .runFinished(name, history, seconds):
            let acc = history.last.map { String(format: "%.2f%%", 100 * $0.testAccuracy) } ?? "—"
            Swift.print(String(format: "[%@] done: test accuracy %@, %.1f s", name, acc, seconds))
        case .evaluationReused(let name):
            Swift.print("[\(name)] measurements reused")
        case let .evaluating(name, samples):
            Swift.print("[\(name)] measuring curvature, PGD, FGSM and the bound on \(samples) samples…")
        case let .evaluated(name, result, seconds):
            Swift.print(String(format: "[%@] accuracy %.2f%%, curvature %@, %.1f s", name, 100 * result.testAccuracy,
                               result.test.map { String(format: "%.4g", $0.curvature.mean) } ?? "—", seconds))
        case .wrote(let path):
            Swift.print("wrote \(path)")
        case .note(let line):
            Swift.print(line)
        }
        fflush(nil)
    }
}
