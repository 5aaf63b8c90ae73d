import Datasets
import Foundation
import NN

/// The robustness audit of a reproduction's checkpoints: the figures the field trusts beside the
/// paper's 10-step ℓ2 PGD (Table 2).
///
/// - **AutoAttack** (``AutoAttack``: APGD-CE → APGD-T → FAB-T → Square, Croce & Hein 2020) in ℓ2 at the
///   claim ε (ε½, the analogue of the paper's 0.1) on the first ``autoAttackSamples`` measured
///   test samples — the same samples PGD saw, so the two compare pairwise (McNemar).
/// - **Certified ℓ2 accuracy** (``CertifiedRobustness``: Lipschitz-margin and curvature
///   certificates) at every ε of the grid on all measured samples.
///
/// Each run keeps its audit in `OUT/runs/<name>/audit.json`, reused while the checkpoint, the ε
/// grid and these settings are unchanged, so adding the audit to a finished reproduction
/// measures only the audit.
public struct ReproductionAudit: Codable, Sendable, Equatable {
    /// Measured samples AutoAttack runs on (0 skips it). Its cost is dominated by APGD-T and
    /// FAB-T (9 targets × `apgdIterations` gradient evaluations per sample still robust each) and
    /// Square (`squareQueries` forward passes per sample still robust).
    public var autoAttackSamples: Int
    /// Iterations of each APGD and FAB run (AutoAttack's standard budget: 100).
    public var apgdIterations: Int
    /// Queries of the Square attack (AutoAttack's standard budget: 5,000).
    public var squareQueries: Int
    /// Whether certified accuracy is measured.
    public var certify: Bool
    /// The attacks of the AutoAttack sequence this audit ran, in order. Part of the settings, so
    /// an audit made before the sequence changed (before FAB-T: `apgd-ce, apgd-t, square`) is
    /// measured again rather than reused.
    public var sequence: [String]

    /// The sequence ``AutoAttack`` runs on a model of ≥ 4 classes.
    public static let autoAttackSequence = ["apgd-ce", "apgd-t", "fab-t", "square"]

    public init(autoAttackSamples: Int, apgdIterations: Int = 100, squareQueries: Int = 5_000, certify: Bool = true) {
        self.autoAttackSamples = autoAttackSamples
        self.apgdIterations = apgdIterations
        self.squareQueries = squareQueries
        self.certify = certify
        self.sequence = Self.autoAttackSequence
    }

    enum CodingKeys: String, CodingKey { case autoAttackSamples, apgdIterations, squareQueries, certify, sequence }

    /// Records written before `sequence` existed ran APGD-CE → APGD-T → Square.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        autoAttackSamples = try c.decode(Int.self, forKey: .autoAttackSamples)
        apgdIterations = try c.decode(Int.self, forKey: .apgdIterations)
        squareQueries = try c.decode(Int.self, forKey: .squareQueries)
        certify = try c.decode(Bool.self, forKey: .certify)
        sequence = try c.decodeIfPresent([String].self, forKey: .sequence) ?? ["apgd-ce", "apgd-t", "square"]
    }

    /// The default size's audit: AutoAttack's standard budget on 250 samples (about 2–4 minutes
    /// per SmallCNN run on two cores; `--autoattack-samples` raises it), certificates on all.
    public static let standard = ReproductionAudit(autoAttackSamples: 250)
    /// The small size's: a reduced budget (20 APGD iterations, 200 Square queries) on 50 samples,
    /// enough to exercise the pipeline, labelled as reduced in the report.
    public static let small = ReproductionAudit(autoAttackSamples: 50, apgdIterations: 20, squareQueries: 200)

    /// Whether this is AutoAttack's standard budget (100 iterations, 5,000 queries).
    public var isStandardBudget: Bool { apgdIterations >= 100 && squareQueries >= 5_000 }

    /// The attack settings of the AutoAttack run.
    func attackOptions(inputRange: ClosedRange<Float>?) -> AttackOptions {
        var options = AttackOptions()
        options.inputRange = inputRange
        options.apgdIterations = apgdIterations
        options.squareQueries = squareQueries
        return options
    }
}

extension Reproduction {
    /// What `OUT/runs/<name>/audit.json` holds.
    struct StoredAudit: Codable {
        var audit: ReproductionAudit
        var epsilons: [Float]
        var samples: Int
        var seed: UInt64
        var checkpoint: String
        var checkpointEpoch: String?
        var autoAttack: RobustAccuracyReport?
        var certified: CertifiedAccuracyReport?

        func matches(_ other: StoredAudit) -> Bool {
            audit == other.audit && epsilons == other.epsilons && samples == other.samples && seed == other.seed
                && checkpoint == other.checkpoint && checkpointEpoch != nil && checkpointEpoch == other.checkpointEpoch
        }
    }

    static let auditName = "audit.json"

    /// The plan's audit of one run (AutoAttack at the claim ε, certified accuracy), reusing
    /// `OUT/runs/<name>/audit.json` when it was made with the same settings and checkpoint.
    /// AutoAttack is sharded over the processes; the record is returned on rank 0 only.
    func audit(_ run: ReproductionRun, plan: ReproductionPlan, checkpoint: URL, test: Dataset) throws -> StoredAudit? {
        guard let audit = plan.audit else { return nil }
        let e = plan.evaluation
        var record = StoredAudit(audit: audit, epsilons: e.epsilons, samples: e.samples, seed: e.seed,
                                 checkpoint: checkpoint.lastPathComponent, checkpointEpoch: Self.checkpointEpoch(checkpoint))
        let url = directory(of: run).appendingPathComponent(Self.auditName)
        if let data = try? Data(contentsOf: url), let stored = try? Self.decoder.decode(StoredAudit.self, from: data),
           stored.matches(record) {
            return communicator.isRoot ? stored : nil
        }
        let model = try CheckpointModel(url: checkpoint)
        let measured = test.prefix(e.samples)
        let start = Date()
        if audit.autoAttackSamples > 0 {
            let subset = measured.prefix(audit.autoAttackSamples)
            onEvent?(.note("[\(run.name)] AutoAttack ℓ2 at ε = \(e.claimEpsilon) on \(subset.count) samples…"))
            record.autoAttack = try ShardedMeasurement(communicator: communicator, batchSize: e.batchSize).robustAccuracy(
                model: model.model, dataset: subset, attack: .autoattackL2, epsilons: [e.claimEpsilon],
                options: audit.attackOptions(inputRange: test.images.rank == 4 ? 0...1 : nil), seed: e.seed)
        }
        guard communicator.isRoot else { return nil }
        if audit.certify {
            record.certified = CertifiedRobustness(model: model.model, inputShape: model.modelConfig.inputShape)
                .evaluate(model: model.model, dataset: measured, epsilons: e.epsilons, batchSize: e.batchSize)
        }
        onEvent?(.note("[\(run.name)] audit done in " + String(format: "%.0f s", Date().timeIntervalSince(start))))
        try Data(Self.encode(record, pretty: true).utf8).write(to: url, options: .atomic)
        return record
    }
}
