import Datasets
import Foundation
import NN
import TensorCore

/// The attacks `lcnn attack` and ``robustAccuracy(model:dataset:attack:epsilons:options:batchSize:seed:)``
/// can run (SPEC A1–A4); the raw values are the command-line names.
public enum AttackKind: String, Sendable, CaseIterable, Codable {
    /// ℓ2 PGD with random start (A1, the paper's Table 2).
    case pgdL2 = "pgd-l2"
    /// ℓ∞ PGD with random start (A3).
    case pgdLinf = "pgd-linf"
    /// ℓ∞ FGSM, `x + ε·sign(∇ₓℓ)` (A2).
    case fgsmLinf = "fgsm-linf"
    /// ℓ2 FGSM, `x + ε·∇ₓℓ/‖∇ₓℓ‖₂` (A2).
    case fgsmL2 = "fgsm-l2"
    /// ℓ2 DeepFool (A4): a sample counts as broken at ε when DeepFool changes its label with ‖δ‖₂ ≤ ε.
    case deepfool
    /// APGD with the cross-entropy (Croce & Hein 2020), ``AttackOptions/apgdIterations`` iterations.
    case apgdCEL2 = "apgd-ce-l2", apgdCELinf = "apgd-ce-linf"
    /// APGD with the targeted DLR loss, towards the 9 most likely other classes.
    case apgdTL2 = "apgd-t-l2", apgdTLinf = "apgd-t-linf"
    /// FAB-T, the targeted minimal-perturbation attack (``FAB``), towards the 9 most likely other
    /// classes with ``AttackOptions/apgdIterations`` iterations each: broken when its closest
    /// misclassified point lies within ε.
    case fabTL2 = "fab-t-l2", fabTLinf = "fab-t-linf"
    /// Square attack (black-box, ``AttackOptions/squareQueries`` queries).
    case squareL2 = "square-l2", squareLinf = "square-linf"
    /// AutoAttack's sequence: APGD-CE, APGD-T, FAB-T, Square (``AutoAttack``).
    case autoattackL2 = "autoattack-l2", autoattackLinf = "autoattack-linf"

    /// The paper's ε list for ℓ2 robust accuracy (Table 2), inputs in [0, 1].
    public static let paperEpsilons: [Float] = [0.05, 0.1, 0.15, 0.2]

    /// The norm the attack's ε is measured in.
    public var norm: PGD.Norm {
        switch self {
        case .pgdL2, .fgsmL2, .deepfool, .apgdCEL2, .apgdTL2, .fabTL2, .squareL2, .autoattackL2: return .l2
        case .pgdLinf, .fgsmLinf, .apgdCELinf, .apgdTLinf, .fabTLinf, .squareLinf, .autoattackLinf: return .linf
        }
    }

    /// Whether the attack only queries the model's outputs (no gradients).
    public var isBlackBox: Bool { self == .squareL2 || self == .squareLinf }

    /// The AutoAttack-family attacks may be named without their norm on the command line
    /// (`autoattack`, `apgd-ce`, `apgd-t`, `fab-t`, `square`): the paper's ℓ2.
    public init?(name: String) {
        let aliases = ["autoattack": "autoattack-l2", "apgd-ce": "apgd-ce-l2", "apgd-t": "apgd-t-l2", "fab-t": "fab-t-l2",
                       "square": "square-l2"]
        self.init(rawValue: aliases[name] ?? name)
    }
}

/// Settings shared by the attacks of a robust-accuracy evaluation.
public struct AttackOptions: Sendable, Codable, Equatable {
    /// PGD steps.
    public var steps: Int
    /// PGD step size α as a multiple of ε (the authors' `l2_pgd_10_100000` and the peer benchmark use
    /// 0.1, i.e. α = 0.01 at ε = 0.1); nil gives PGD's default α = 2.5·ε/steps.
    public var relativeStepSize: Float?
    /// PGD random start (uniform in [−ε, ε] per pixel, projected to the ℓ2 ball for ℓ2).
    public var randomStart: Bool
    /// The valid input range ([0, 1] for images; nil for unbounded inputs such as two moons).
    public var inputRange: ClosedRange<Float>?
    public var deepFoolOvershoot: Float
    public var deepFoolMaxSteps: Int
    /// APGD iterations per restart and target (AutoAttack: 100).
    public var apgdIterations: Int = 100
    /// Square attack queries per sample (AutoAttack: 5,000).
    public var squareQueries: Int = 5_000
    /// When true, a sample broken at some ε counts as broken at every larger ε too (its adversarial
    /// example lies in the larger ball as well), which makes the curve non-increasing by
    /// construction: the strongest of the attacks run. Off by default: each ε is its own attack.
    public var cumulative: Bool

    public init(steps: Int = 10, relativeStepSize: Float? = nil, randomStart: Bool = true,
                inputRange: ClosedRange<Float>? = 0...1, deepFoolOvershoot: Float = 0.02,
                deepFoolMaxSteps: Int = 50, cumulative: Bool = false) {
        self.steps = steps
        self.relativeStepSize = relativeStepSize
        self.randomStart = randomStart
        self.inputRange = inputRange
        self.deepFoolOvershoot = deepFoolOvershoot
        self.deepFoolMaxSteps = deepFoolMaxSteps
        self.cumulative = cumulative
    }

    enum CodingKeys: String, CodingKey {
        case steps, relativeStepSize, randomStart, inputRange, deepFoolOvershoot, deepFoolMaxSteps, cumulative
        case apgdIterations, squareQueries
    }

    /// Records written before the AutoAttack settings existed decode with their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decode(Int.self, forKey: .steps)
        relativeStepSize = try c.decodeIfPresent(Float.self, forKey: .relativeStepSize)
        randomStart = try c.decode(Bool.self, forKey: .randomStart)
        inputRange = try c.decodeIfPresent(ClosedRange<Float>.self, forKey: .inputRange)
        deepFoolOvershoot = try c.decode(Float.self, forKey: .deepFoolOvershoot)
        deepFoolMaxSteps = try c.decode(Int.self, forKey: .deepFoolMaxSteps)
        cumulative = try c.decode(Bool.self, forKey: .cumulative)
        apgdIterations = try c.decodeIfPresent(Int.self, forKey: .apgdIterations) ?? 100
        squareQueries = try c.decodeIfPresent(Int.self, forKey: .squareQueries) ?? 5_000
    }

    /// The PGD attack these options describe at radius ε.
    public func pgd(_ norm: PGD.Norm, epsilon: Float) -> PGD {
        PGD(norm: norm, epsilon: epsilon, steps: steps, stepSize: relativeStepSize.map { $0 * epsilon },
            randomStart: randomStart, inputRange: inputRange)
    }
}

/// Adversarial examples of `kind` at radius ε for a batch (for DeepFool ε is ignored: it returns
/// its minimal-perturbation examples). `generator` feeds PGD's random start.
public func adversarialExamples(_ kind: AttackKind, _ classifier: Classifier, _ x: Tensor, labels: [Int],
                                epsilon: Float, options: AttackOptions = .init(),
                                generator: inout SeededGenerator) -> Tensor {
    switch kind {
    case .pgdL2: return options.pgd(.l2, epsilon: epsilon).attack(classifier, x, labels: labels, generator: &generator)
    case .pgdLinf: return options.pgd(.linf, epsilon: epsilon).attack(classifier, x, labels: labels, generator: &generator)
    case .fgsmLinf: return FGSM(norm: .linf, epsilon: epsilon, inputRange: options.inputRange).attack(classifier, x, labels: labels)
    case .fgsmL2: return FGSM(norm: .l2, epsilon: epsilon, inputRange: options.inputRange).attack(classifier, x, labels: labels)
    case .deepfool:
        return DeepFool(overshoot: options.deepFoolOvershoot, maxSteps: options.deepFoolMaxSteps,
                        inputRange: options.inputRange).attack(classifier, x).adversarial
    case .apgdCEL2, .apgdCELinf:
        return APGD(norm: kind.norm, epsilon: epsilon, iterations: options.apgdIterations, inputRange: options.inputRange)
            .attack(classifier, x, labels: labels, generator: &generator).adversarial
    case .apgdTL2, .apgdTLinf:
        return APGD(norm: kind.norm, epsilon: epsilon, iterations: options.apgdIterations, inputRange: options.inputRange)
            .targetedAttack(classifier, x, labels: labels, generator: &generator).adversarial
    case .fabTL2, .fabTLinf:
        return FAB(norm: kind.norm, epsilon: epsilon, iterations: options.apgdIterations, inputRange: options.inputRange)
            .targetedAttack(classifier, x, labels: labels, generator: &generator).adversarial
    case .squareL2, .squareLinf:
        return SquareAttack(norm: kind.norm, epsilon: epsilon, queries: options.squareQueries, inputRange: options.inputRange)
            .attack(classifier, x, labels: labels, generator: &generator).adversarial
    case .autoattackL2, .autoattackLinf:
        return options.autoAttack(kind.norm, epsilon: epsilon).attack(classifier, x, labels: labels, generator: &generator).result.adversarial
    }
}

extension AttackOptions {
    /// AutoAttack's sequence with these options' budget.
    func autoAttack(_ norm: PGD.Norm, epsilon: Float) -> AutoAttack {
        AutoAttack(norm: norm, epsilon: epsilon, iterations: apgdIterations, squareQueries: squareQueries, inputRange: inputRange)
    }
}

/// Robust accuracy at one ε: one JSON line of `lcnn attack`.
public struct RobustAccuracyPoint: Sendable, Codable, Equatable {
    public var attack: AttackKind
    public var epsilon: Float
    public var samples: Int
    /// Samples classified correctly without attack.
    public var cleanCorrect: Int
    /// Samples classified correctly without attack *and* after the attack.
    public var robustCorrect: Int
    public var cleanAccuracy: Double
    public var robustAccuracy: Double
    /// Per sample (dataset order): correct both as given and after the attack. Not written to
    /// `lcnn attack`'s JSON lines; kept in evaluation records for paired tests (McNemar).
    public var robust: SampleFlags?
    /// AutoAttack only: the samples still robust after each attack of the sequence, in order
    /// (the last equals `robustCorrect`), so each attack's contribution shows.
    public var stages: [AutoAttack.Stage]?

    public init(attack: AttackKind, epsilon: Float, samples: Int, cleanCorrect: Int, robustCorrect: Int,
                cleanAccuracy: Double, robustAccuracy: Double, robust: SampleFlags? = nil) {
        self.attack = attack
        self.epsilon = epsilon
        self.samples = samples
        self.cleanCorrect = cleanCorrect
        self.robustCorrect = robustCorrect
        self.cleanAccuracy = cleanAccuracy
        self.robustAccuracy = robustAccuracy
        self.robust = robust
    }
}

/// The result of ``robustAccuracy(model:dataset:attack:epsilons:options:batchSize:seed:)``.
public struct RobustAccuracyReport: Sendable, Codable, Equatable {
    public var dataset: String
    public var attack: AttackKind
    public var options: AttackOptions
    public var seed: UInt64
    public var samples: Int
    public var cleanCorrect: Int
    public var cleanAccuracy: Double
    /// One entry per ε, in the order given.
    public var points: [RobustAccuracyPoint]
    /// DeepFool only: mean ‖δ‖₂ over the correctly classified samples whose label it changed (A4).
    public var meanMinimalPerturbation: Float?
    /// DeepFool only: how many correctly classified samples it broke.
    public var deepFoolSucceeded: Int?

    /// The points as JSON objects, one per line (sorted keys).
    public func jsonLines() -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return points.compactMap { point in
            var point = point
            point.robust = nil
            return (try? encoder.encode(point)).flatMap { String(data: $0, encoding: .utf8) }
        }
    }
}

/// Robust accuracy (SPEC A1–A4): the fraction of samples that the model classifies correctly both
/// as given and after the attack at radius ε,
///
///     robust(ε) = (1/N) · #{ i : argmax f(xᵢ) = yᵢ  and  argmax f(attack_ε(xᵢ)) = yᵢ },
///
/// so already-misclassified samples count as not robust whatever the attack does, and
/// robust(ε) ≤ clean accuracy. ε is in the [0, 1] input scale (ℓ2 for `pgd-l2`, `fgsm-l2` and
/// `deepfool`, ℓ∞ for `pgd-linf` and `fgsm-linf`). The model runs in evaluation mode.
///
/// Randomness: batch b draws PGD's random start from a generator seeded by (seed, b), reseeded
/// for every ε, so all radii share one random start direction (ε-scaled) and a run is
/// reproducible. DeepFool runs once per batch; a sample counts as broken at ε when it succeeded
/// with ‖δ‖₂ ≤ ε. With `firstBatch` = k, batch b is seeded as batch k + b: `dataset` is then the
/// part of a larger set that starts at its batch k, attacked as in the whole set.
public func robustAccuracy(model: any Layer, dataset: Dataset, attack: AttackKind = .pgdL2,
                           epsilons: [Float] = AttackKind.paperEpsilons, options: AttackOptions = .init(),
                           batchSize: Int = 256, seed: UInt64 = 0, firstBatch: Int = 0) -> RobustAccuracyReport {
    precondition(batchSize > 0, "robustAccuracy: batchSize must be positive")
    precondition(firstBatch >= 0, "robustAccuracy: firstBatch must be non-negative")
    precondition(epsilons.allSatisfy { $0 >= 0 }, "robustAccuracy: ε must be non-negative")
    let classifier: Classifier = { x in inference { model(x) } }
    let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false)
    var cleanCorrect = 0
    var robust = [[Bool]](repeating: [], count: epsilons.count)
    var deepFoolNorms: [Float] = []
    var stages = [[AutoAttack.Stage]?](repeating: nil, count: epsilons.count)
    // With `cumulative`, ε is processed in increasing order and a broken sample stays broken.
    let order = epsilons.indices.sorted { epsilons[$0] < epsilons[$1] }
    for (b, batch) in loader.batches(epoch: 0).enumerated() {
        let x = batch.images, y = batch.labels
        let predicted = withoutGrad { classifier(x) }.argmax(axis: -1)
        let correct = zip(predicted, y).map { $0 == $1 }
        cleanCorrect += correct.filter { $0 }.count
        let batchSeed = batchSeed(seed, firstBatch + b)
        if attack == .deepfool {
            let result = DeepFool(overshoot: options.deepFoolOvershoot, maxSteps: options.deepFoolMaxSteps,
                                  inputRange: options.inputRange).attack(classifier, x)
            for i in 0..<y.count where correct[i] && result.succeeded[i] { deepFoolNorms.append(result.perturbationNorms[i]) }
            for (e, eps) in epsilons.enumerated() {
                robust[e] += (0..<y.count).map { i in
                    correct[i] && !(result.succeeded[i] && result.perturbationNorms[i] <= eps)
                }
            }
            continue
        }
        var alive = correct
        for e in order {
            var generator = SeededGenerator(seed: batchSeed)
            let adv: Tensor
            if attack == .autoattackL2 || attack == .autoattackLinf {
                let (result, batchStages) = options.autoAttack(attack.norm, epsilon: epsilons[e])
                    .attack(classifier, x, labels: y, generator: &generator)
                adv = result.adversarial
                stages[e] = AutoAttack.Stage.adding(stages[e], batchStages)
            } else {
                adv = adversarialExamples(attack, classifier, x, labels: y, epsilon: epsilons[e], options: options, generator: &generator)
            }
            let after = withoutGrad { classifier(adv) }.argmax(axis: -1)
            let ok = (0..<y.count).map { i in correct[i] && after[i] == y[i] && (!options.cumulative || alive[i]) }
            if options.cumulative { alive = ok }
            robust[e] += ok
        }
    }
    let n = dataset.count
    func fraction(_ k: Int) -> Double { n == 0 ? 0 : Double(k) / Double(n) }
    let points = epsilons.enumerated().map { e, eps in
        let flags = SampleFlags(robust[e])
        var point = RobustAccuracyPoint(attack: attack, epsilon: eps, samples: n, cleanCorrect: cleanCorrect,
                                        robustCorrect: flags.trueCount, cleanAccuracy: fraction(cleanCorrect),
                                        robustAccuracy: fraction(flags.trueCount), robust: flags)
        point.stages = stages[e]
        return point
    }
    return RobustAccuracyReport(
        dataset: dataset.name, attack: attack, options: options, seed: seed, samples: n,
        cleanCorrect: cleanCorrect, cleanAccuracy: fraction(cleanCorrect), points: points,
        meanMinimalPerturbation: attack == .deepfool && !deepFoolNorms.isEmpty
            ? deepFoolNorms.reduce(0, +) / Float(deepFoolNorms.count) : nil,
        deepFoolSucceeded: attack == .deepfool ? deepFoolNorms.count : nil)
}

extension RobustAccuracyReport {
    /// The report of consecutive parts of a set (attacked with the same settings and their
    /// batches' global indices), in order: counts add, per-sample flags concatenate and the
    /// accuracies are recomputed, so it equals the report of the whole set. DeepFool's mean
    /// ‖δ‖₂ is the succeeded-weighted mean of the parts' (equal up to Float rounding).
    public static func merged(_ parts: [RobustAccuracyReport]) -> RobustAccuracyReport {
        precondition(!parts.isEmpty, "RobustAccuracyReport.merged: no parts")
        var all = parts[0]
        all.samples = parts.reduce(0) { $0 + $1.samples }
        all.cleanCorrect = parts.reduce(0) { $0 + $1.cleanCorrect }
        let n = all.samples
        func fraction(_ k: Int) -> Double { n == 0 ? 0 : Double(k) / Double(n) }
        all.cleanAccuracy = fraction(all.cleanCorrect)
        all.points = all.points.indices.map { e in
            var point = all.points[e]
            let flags = parts.map { $0.points[e].robust?.values }
            point.robust = flags.contains { $0 == nil } ? nil : SampleFlags(flags.flatMap { $0! })
            point.samples = n
            point.cleanCorrect = all.cleanCorrect
            point.cleanAccuracy = all.cleanAccuracy
            point.robustCorrect = parts.reduce(0) { $0 + $1.points[e].robustCorrect }
            point.robustAccuracy = fraction(point.robustCorrect)
            point.stages = parts.dropFirst().reduce(parts[0].points[e].stages) { AutoAttack.Stage.adding($0, $1.points[e].stages) }
            return point
        }
        if all.attack == .deepfool {
            let succeeded = parts.reduce(0) { $0 + ($1.deepFoolSucceeded ?? 0) }
            let total = parts.reduce(0.0) { $0 + Double($1.meanMinimalPerturbation ?? 0) * Double($1.deepFoolSucceeded ?? 0) }
            all.deepFoolSucceeded = succeeded
            all.meanMinimalPerturbation = succeeded > 0 ? Float(total / Double(succeeded)) : nil
        }
        return all
    }
}

/// A seed for batch `b` of a run seeded with `seed` (SplitMix64 finaliser).
private func batchSeed(_ seed: UInt64, _ b: Int) -> UInt64 {
    var h = seed ^ (UInt64(b) &* 0x9E37_79B9_7F4A_7C15) &+ 0xD1B5_4A32_D192_ED03
    h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
    return h ^ (h >> 31)
}

extension RobustAccuracyPoint {
    /// The point restricted to the first `n` samples (needs the per-sample flags; nil without
    /// them or when `n` exceeds the samples), for comparing with an attack run on that prefix;
    /// `cleanCorrect` is the prefix's clean count (the other attack's report knows it).
    public func prefix(_ n: Int, cleanCorrect: Int) -> RobustAccuracyPoint? {
        guard let flags = robust?.values, n <= flags.count else { return nil }
        let kept = SampleFlags(Array(flags.prefix(n)))
        var point = self
        point.samples = n
        point.robust = kept
        point.robustCorrect = kept.trueCount
        point.robustAccuracy = n == 0 ? 0 : Double(kept.trueCount) / Double(n)
        point.cleanCorrect = cleanCorrect
        point.cleanAccuracy = n == 0 ? 0 : Double(cleanCorrect) / Double(n)
        return point
    }
}
