import Datasets
import Foundation
import NN
import TensorCore

/// What `lcnn eval` measures for one model, in the shape of the paper's Tables 1–3.
public struct EvaluationResult: Codable, Sendable {
    public var label: String
    public var checkpoint: String
    public var dataset: String
    public var testAccuracy: Double
    /// Per test sample (the whole test set, in order): classified correctly. Paired accuracy
    /// comparisons of two models (McNemar) read it; nil in results written before it was kept.
    public var testCorrect: SampleFlags?
    /// G1–G4 (and G5 when asked) on the test subset, and on the training subset for G6.
    public var test: CurvatureSummary?
    public var train: CurvatureSummary?
    /// G6: |g(test) − g(train)| / g(test) for G1–G3 (paper Table 3).
    public var discrepancy: TrainTestDiscrepancy?
    /// ℓ2-PGD robust accuracy at the paper's ε (Table 2) and FGSM (ℓ∞).
    public var pgd: RobustAccuracyReport?
    public var fgsm: RobustAccuracyReport?
    /// B8: the data-free curvature bound and its log.
    public var curvatureBound: Double
    public var logCurvatureBound: Double
    /// B8 layer by layer: each non-linear layer's share, and why the bound is undefined when it
    /// is (a max-pool, a ReLU). Nil in results written before it was kept.
    public var curvatureBoundSummary: CurvatureBoundSummary?
    /// G7: mean training seconds per epoch from the run's metrics.jsonl, if found.
    public var trainSecondsPerEpoch: Double?
    /// Certified ℓ2 accuracy at the ℓ2 ε (Lipschitz-margin and curvature certificates), with
    /// `--certify`.
    public var certified: CertifiedAccuracyReport?
    /// AutoAttack ℓ2 robust accuracy (APGD-CE → APGD-T → FAB-T → Square) at the claim ε on a prefix of
    /// the measured samples (a reproduction's audit, ``ReproductionAudit``).
    public var autoAttack: RobustAccuracyReport?
}

/// Which measurements `lcnn eval` runs, and on how many samples.
public struct EvaluationOptions: Sendable {
    public var samples = 500
    public var batchSize = 100
    public var curvature = true
    public var discrepancy = true
    public var robustness = true
    public var fgsm = true
    public var frobenius = false
    public var gradientRobustness = false
    public var powerIterations = 20
    /// Relative tolerance of the power iteration's convergence test.
    public var tolerance: Float = 1e-3
    public var epsilons: [Float] = AttackKind.paperEpsilons
    /// FGSM's (ℓ∞) ε list; nil: the same as ``epsilons``.
    public var fgsmEpsilons: [Float]?
    public var seed: UInt64 = 0
    /// Certify ℓ2 robustness at ``epsilons`` (``CertifiedRobustness``).
    public var certify = false
    public init() {}
}

/// Runs the measurements of SPEC §4–§5 on one checkpoint.
public enum Evaluation {
    public static func evaluate(_ checkpoint: CheckpointModel, train: Dataset, test: Dataset,
                                options: EvaluationOptions) throws -> EvaluationResult {
        try evaluate(checkpoint, train: train, test: test, options: options, communicator: SingleProcess())!
    }

    /// The same, with the per-sample measurements (test accuracy, G1–G5, attacks) sharded over
    /// the processes of `communicator` (``ShardedMeasurement``): the result on rank 0, nil on
    /// the others. Certification and the bound run on rank 0 alone.
    public static func evaluate(_ checkpoint: CheckpointModel, train: Dataset, test: Dataset,
                                options: EvaluationOptions, communicator: any Communicator) throws -> EvaluationResult? {
        try checkpoint.checkInput(sampleShape: test.sampleShape, dataset: test.name)
        let model = checkpoint.model
        let testSubset = test.prefix(options.samples), trainSubset = train.prefix(options.samples)
        let measurement = CurvatureMeasurement(
            powerIteration: HessianPowerIteration(iterations: options.powerIterations, tolerance: options.tolerance, seed: options.seed),
            hutchinson: options.frobenius ? HutchinsonFrobenius(samples: 10, seed: options.seed) : nil,
            robustness: options.gradientRobustness ? GradientRobustness(seed: options.seed) : nil)
        let sharded = ShardedMeasurement(communicator: communicator, batchSize: options.batchSize)
        let correct = try ShardedMeasurement(communicator: communicator, batchSize: 500).correct(model: model, dataset: test)
        let testCurvature = options.curvature
            ? try sharded.curvature(model: model, dataset: testSubset, measurement: measurement) : nil
        let trainCurvature = options.curvature && options.discrepancy
            ? try sharded.curvature(model: model, dataset: trainSubset, measurement: measurement) : nil
        var attackOptions = AttackOptions()
        attackOptions.inputRange = test.images.rank == 4 ? 0...1 : nil
        let pgd = options.robustness
            ? try sharded.robustAccuracy(model: model, dataset: testSubset, attack: .pgdL2, epsilons: options.epsilons,
                                         options: attackOptions, seed: options.seed) : nil
        let fgsm = options.fgsm
            ? try sharded.robustAccuracy(model: model, dataset: testSubset, attack: .fgsmLinf,
                                         epsilons: options.fgsmEpsilons ?? options.epsilons, options: attackOptions,
                                         seed: options.seed) : nil
        guard communicator.isRoot, let correct else { return nil }
        var result = EvaluationResult(
            label: checkpoint.label, checkpoint: checkpoint.url.path, dataset: test.name,
            testAccuracy: Double(correct.trueCount) / Double(max(correct.count, 1)), testCorrect: correct,
            curvatureBound: 0, logCurvatureBound: 0)
        result.test = testCurvature
        result.train = trainCurvature
        if let testCurvature, let trainCurvature {
            result.discrepancy = TrainTestDiscrepancy(train: trainCurvature, test: testCurvature)
        }
        result.pgd = pgd
        result.fgsm = fgsm
        if options.certify {
            result.certified = CertifiedRobustness(model: model, inputShape: checkpoint.modelConfig.inputShape)
                .evaluate(model: model, dataset: testSubset, epsilons: options.epsilons, batchSize: options.batchSize)
        }
        let bound = CurvatureBound.compute(for: model, inputShape: checkpoint.modelConfig.inputShape)
        result.curvatureBound = bound.value
        result.logCurvatureBound = bound.logValue
        result.curvatureBoundSummary = bound.summary
        let metrics = checkpoint.url.deletingLastPathComponent().appendingPathComponent(Trainer.metricsName)
        if let lines = try? EpochMetrics.readLines(metrics), !lines.isEmpty {
            result.trainSecondsPerEpoch = lines.map(\.trainSeconds).reduce(0, +) / Double(lines.count)
        }
        return result
    }
}
