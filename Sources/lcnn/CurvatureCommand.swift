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
        abstract: "Robust accuracy of a checkpoint under ℓ2/ℓ∞ PGD, FGSM, DeepFool, APGD, Square or AutoAttack for a list of ε.",
        discussion: """
            Inputs are in [0, 1] and ε in that scale; already-misclassified inputs count as not robust. \
            Prints one JSON object per ε (and writes attack.jsonl with --out).
            Example: lcnn attack --checkpoint runs/x/best.safetensors --attack pgd-l2 --epsilons 0.05,0.1,0.15,0.2
            """)

    @Option(help: "The checkpoint (written by `lcnn train`).") var checkpoint: String
    @Option(help: ArgumentHelp("pgd-l2, pgd-linf, fgsm-linf, fgsm-l2, deepfool, apgd-ce-l2/-linf, apgd-t-l2/-linf, fab-t-l2/-linf, square-l2/-linf, autoattack-l2/-linf (autoattack, apgd-ce, apgd-t, fab-t, square: ℓ2).",
                                discussion: "autoattack runs APGD-CE, APGD-T and FAB-T (9 target classes, 100 iterations each) and Square (5,000 queries), each on the samples still robust.")) var attack: AttackKind = .pgdL2
    @Option(name: .customLong("apgd-iterations"), help: "APGD iterations per restart and target class.") var apgdIterations = 100
    @Option(name: .customLong("square-queries"), help: "Square attack queries per sample.") var squareQueries = 5_000
    @Option(help: "Comma-separated ε list.") var epsilons = "0.05,0.1,0.15,0.2"
    @Option(help: "PGD steps.") var steps = 10
    @Option(name: .customLong("step-size"), help: "PGD step size as a multiple of ε (default: 2.5/steps).") var stepSize: Float?
    @Option(help: "Samples from the test set.") var samples = 1000
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = 256
    @Option(help: "The dataset (default: the checkpoint's).") var dataset: DatasetName?
    @Option(help: "Directory holding the dataset files.") var data: String?
    @Option(help: "Seed of the random starts.") var seed: UInt64 = 0
    @Option(help: "Output directory for attack.jsonl (and sanity.txt).") var out: String?
    @Flag(help: ArgumentHelp("Also run the cross-checks of the evaluation: the attack at a radius that reaches any input, PGD beside APGD/AutoAttack, Square beside a white-box attack.",
                             discussion: "The checks inside the table (robust ≤ clean, non-increasing in ε) always run. Checks go to stderr; the status is 3 when one fails."))
    var sanity = false
    @Flag(help: DistributedLaunch.help) var distributed = false

    /// With `--distributed`, every process attacks its part of the samples
    /// (``ShardedMeasurement``) and rank 0 prints and writes the results.
    func run() throws {
        let communicator = try DistributedLaunch.communicator(distributed)
        var failed = 0
        try DistributedLaunch.run(communicator, command: "lcnn attack") { failed = try run(communicator) }
        if failed > 0 { throw ExitCode(3) }
    }

    /// Runs the attacks; on rank 0 prints and writes the results, and returns the number of
    /// failed sanity checks.
    func run(_ communicator: any Communicator) throws -> Int {
        let model = try CheckpointModel(url: URL(fileURLWithPath: checkpoint))
        let eps = try EvalCommand.parseEpsilons(epsilons)
        let (_, test) = try model.loadData(dataset: dataset, data: data)
        try model.checkInput(sampleShape: test.sampleShape, dataset: test.name)
        var options = AttackOptions(steps: steps, relativeStepSize: stepSize)
        options.inputRange = test.images.rank == 4 ? 0...1 : nil
        options.apgdIterations = apgdIterations
        options.squareQueries = squareQueries
        if (attack == .apgdTL2 || attack == .apgdTLinf) && test.classes < 4 {
            throw ValidationError("\(attack.rawValue) needs at least 4 classes (its targeted DLR loss uses the 3rd and 4th largest logits); "
                                  + "\(test.name) has \(test.classes): use apgd-ce or autoattack, which skips APGD-T")
        }
        let subset = test.prefix(samples)
        let sharded = ShardedMeasurement(communicator: communicator, batchSize: batchSize)
        func evaluate(_ kind: AttackKind, _ radii: [Float]) throws -> RobustAccuracyReport? {
            try sharded.robustAccuracy(model: model.model, dataset: subset, attack: kind, epsilons: radii, options: options, seed: seed)
        }
        let report = try evaluate(attack, eps)
        let crossChecks = sanity ? try crossChecks(report, epsilons: eps, evaluate: evaluate, inputSize: test.sampleShape.reduce(1, *)) : []
        guard let report else { return 0 }
        let lines = report.jsonLines()
        lines.forEach { print($0) }
        if let m = report.meanMinimalPerturbation { print("{\"mean_minimal_perturbation\": \(m)}") }
        let checks = RobustnessSanityCheck.checks(report) + crossChecks
        let text = checks.map(\.line).joined(separator: "\n") + "\n"
        FileHandle.standardError.write(Data(text.utf8))
        if let out {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: dir.appendingPathComponent("attack.jsonl"), options: .atomic)
            try Data(text.utf8).write(to: dir.appendingPathComponent("sanity.txt"), options: .atomic)
        }
        let failed = checks.filter { !$0.passed }.count
        if failed > 0 {
            FileHandle.standardError.write(Data("SANITY CHECKS FAILED: \(failed) of \(checks.count); the robust accuracies above are not trustworthy\n".utf8))
        }
        return failed
    }

    /// The cross-checks of `--sanity`: the attack at a radius that reaches every input of
    /// [0, 1]^d (ℓ∞ 1, ℓ2 √d) must break nearly everything; APGD and AutoAttack must not leave
    /// significantly more samples robust than PGD; Square (black-box) must not break
    /// significantly more than a white-box attack. Every process runs the attacks (their
    /// reports, like `report`, exist on rank 0 alone, which builds the checks).
    func crossChecks(_ report: RobustAccuracyReport?, epsilons eps: [Float], evaluate: (AttackKind, [Float]) throws -> RobustAccuracyReport?,
                     inputSize: Int) throws -> [RobustnessSanityCheck] {
        var checks: [RobustnessSanityCheck] = []
        if attack != .deepfool, let large = try evaluate(attack, [attack.norm == .linf ? 1 : Float(inputSize).squareRoot()])?.points.first {
            checks.append(.vanishes(large))
        }
        let family: [AttackKind] = [.apgdCEL2, .apgdCELinf, .apgdTL2, .apgdTLinf, .autoattackL2, .autoattackLinf]
        if family.contains(attack), let pgd = try evaluate(attack.norm == .linf ? .pgdLinf : .pgdL2, eps), let report {
            checks += zip(report.points, pgd.points).map { RobustnessSanityCheck.atMost($0, $1) }
        }
        if !attack.isBlackBox && attack != .deepfool && attack != .fgsmL2 && attack != .fgsmLinf,
           let square = try evaluate(attack.norm == .linf ? .squareLinf : .squareL2, eps), let report {
            checks += zip(square.points, report.points).map { RobustnessSanityCheck.noGradientMasking(blackBox: $0, whiteBox: $1) }
        }
        return checks
    }
}

extension AttackKind: ExpressibleByArgument {
    /// The raw names, and `autoattack`, `apgd-ce`, `apgd-t`, `square` for their ℓ2 forms.
    public init?(argument: String) { self.init(name: argument) }
}
