import Datasets
import Foundation
import NN

/// The regularisation weights that calibration chooses (SPEC S1; paper appendix E), one per
/// regularised method of the protocol. LCNN + GradReg takes LCNN's λβ, λγ and GradReg's λg, as
/// the paper's appendix E does; the swish LCNN takes LCNN's.
public enum CalibratedWeight: String, Codable, Sendable, CaseIterable {
    /// λβ of the LCNN penalty, with λγ = λβ/10 (the paper's ratio, 1e-4 : 1e-5).
    case lcnn
    /// λg of GradReg.
    case gradreg
    /// λ of CURE.
    case cure

    /// The method whose short runs calibrate this weight.
    public var method: TrainingMethod {
        switch self {
        case .lcnn: return .lcnn
        case .gradreg: return .gradreg
        case .cure: return .cure
        }
    }

    /// The weight's symbol in tables.
    public var symbol: String {
        switch self {
        case .lcnn: return "λβ (λγ = λβ/10)"
        case .gradreg: return "λg"
        case .cure: return "λ"
        }
    }

    /// The coarse grid: powers of 10 from the paper's value upwards (appendix E: λβ = 1e-4,
    /// λg = 1e-3; CURE's reference λ = 1e-3), five points each, so the search can only make a
    /// weight stronger than the paper's CIFAR-100 choice — which is what a weight that "does
    /// nothing" on other data needs — or keep it.
    public var defaultGrid: [Float] {
        switch self {
        case .lcnn: return [1e-4, 1e-3, 1e-2, 1e-1, 1]
        case .gradreg, .cure: return [1e-3, 1e-2, 1e-1, 1, 10]
        }
    }

    /// The paper's value (the first grid point).
    public var paperValue: Float { defaultGrid[0] }

    /// Sets this weight in a configuration (only for methods that use it).
    public func apply(_ weight: Float, to config: inout TrainConfig) {
        switch self {
        case .lcnn:
            guard config.method.usesLCNNPenalty else { return }
            config.objective.penalty = LCNNPenalty(form: .paper, betaWeight: weight, gammaWeight: weight / 10)
        case .gradreg:
            guard config.method.usesGradientPenalty else { return }
            config.objective.gradientPenaltyWeight = weight
        case .cure:
            guard config.method == .cure else { return }
            config.objective.cureWeight = weight
        }
    }
}

/// How calibration runs: short runs of each regularised method at each grid weight, and one of
/// Standard, on the first `trainSubset` training images for `epochs` epochs with the plan's
/// loop, each scored on `validationCount` held-out training images (the last ones of the
/// training set, never trained on by the short runs; the test set stays untouched for the
/// reported numbers).
public struct CalibrationSettings: Codable, Sendable, Equatable {
    public var trainSubset: Int
    public var validationCount: Int
    public var epochs: Int
    /// Largest accuracy drop below Standard's still counted as "not affecting predictive
    /// performance" (a fraction: 0.01 = 1 point).
    public var tolerance: Double
    /// Validation samples on which G1 and C(x) are measured for the table.
    public var samples: Int
    public var powerIterations: Int
    /// The grid of each calibrated weight (raw value of ``CalibratedWeight`` → weights).
    public var grids: [String: [Float]]

    public init(trainSubset: Int = 10_000, validationCount: Int = 5_000, epochs: Int = 2, tolerance: Double = 0.01,
                samples: Int = 200, powerIterations: Int = 10,
                grids: [String: [Float]] = Dictionary(uniqueKeysWithValues: CalibratedWeight.allCases.map { ($0.rawValue, $0.defaultGrid) })) {
        self.trainSubset = trainSubset
        self.validationCount = validationCount
        self.epochs = epochs
        self.tolerance = tolerance
        self.samples = samples
        self.powerIterations = powerIterations
        self.grids = grids
    }

    public func grid(_ weight: CalibratedWeight) -> [Float] { grids[weight.rawValue] ?? weight.defaultGrid }
}

/// One short run of the calibration.
public struct CalibrationPoint: Codable, Sendable, Equatable {
    /// The weight (nil for the Standard reference).
    public var weight: Float?
    /// Validation accuracy and its 95 % Wilson interval.
    public var accuracy: Double
    public var accuracyInterval: ConfidenceInterval
    /// Mean G1 and mean C(x) on the first ``CalibrationSettings/samples`` validation samples.
    public var gradientNorm: Double
    public var curvature: Double
    public var seconds: Double
    /// Why the short run stopped early when its loss became NaN or infinite (the weight is then
    /// too large to train at this learning rate); its accuracy counts as 0, so the rule never
    /// chooses it. Nil for runs that finished.
    public var diverged: String?

    public init(weight: Float?, accuracy: Double, accuracyInterval: ConfidenceInterval, gradientNorm: Double,
                curvature: Double, seconds: Double, diverged: String? = nil) {
        self.weight = weight
        self.accuracy = accuracy
        self.accuracyInterval = accuracyInterval
        self.gradientNorm = gradientNorm
        self.curvature = curvature
        self.seconds = seconds
        self.diverged = diverged
    }
}

/// The grid of one weight and the weight the rule chose.
public struct WeightCalibration: Codable, Sendable, Equatable {
    public var weight: CalibratedWeight
    public var points: [CalibrationPoint]
    /// The chosen weight (see ``CalibrationRule``).
    public var chosen: Float
    /// False when no grid weight stayed within the tolerance (the smallest was then chosen).
    public var withinTolerance: Bool
    /// The largest weight the run length allows (``PenaltyDrift``; LCNN only), when it bound.
    public var cap: Float? = nil
}

/// The LCNN penalty of the paper, R = λβ·Σ log β + λγ·Σ log γ (eq. 5), is unbounded below: its
/// gradient on each log β is the constant λβ, whatever the data, so SGD with momentum μ moves
/// every log β down by about lr·λβ/(1 − μ) per step, and the cross-entropy's push back vanishes
/// as β → 0 (s₀ → x/2 stops depending on β). Over a run the penalty alone can lower log β by
///     D = λβ · Σ_t lr_t / (1 − μ).
/// Short calibration runs cannot see this — 2 epochs of 10,000 images at λβ = 10⁻¹ keep β near 1,
/// 5 epochs of 60,000 drive it to 0 and the activations' numerics to NaN — so the rule bounds D
/// by the paper's own: λβ = 10⁻⁴ over its 200-epoch CIFAR-100 schedule (391 steps per epoch, lr
/// 0.1 with ×0.1 at epochs 150 and 175, μ = 0.9) gives D ≈ 6.0. The calibrated λβ is the largest
/// grid weight within the tolerance that also keeps D ≤ that.
public enum PenaltyDrift {
    /// Σ_t lr_t/(1 − μ) over a run of `config` on `trainCount` images (SGD; 1 for other optimisers' scale).
    public static func stepSum(_ config: TrainConfig, trainCount: Int) -> Double {
        let images = min(config.trainSubset ?? trainCount, trainCount)
        let steps = Double((images + config.batchSize - 1) / max(config.batchSize, 1))
        let schedule = (0..<config.epochs).map { Double(MultiStepSchedule.paper(base: 1, epochs: config.epochs).learningRate(epoch: $0)) }
        let rates: [Double]
        switch config.schedule {
        case .multistep: rates = schedule.map { $0 * Double(config.learningRate) }
        case .cosine: rates = (0..<config.epochs).map { Double(CosineSchedule(base: config.learningRate, epochs: config.epochs).learningRate(epoch: $0)) }
        case .constant: rates = [Double](repeating: Double(config.learningRate), count: config.epochs)
        }
        let momentum = config.optimizer == .sgd ? Double(config.momentum) : 0
        return steps * rates.reduce(0, +) / max(1 - momentum, 1e-3)
    }

    /// D of the paper's own setting: λβ = 10⁻⁴ over 200 epochs of CIFAR-100 (50,000 images,
    /// batch 128, lr 0.1, multistep, momentum 0.9).
    public static var paperDrift: Double {
        var c = TrainConfig()
        c.epochs = 200
        c.batchSize = 128
        c.learningRate = 0.1
        c.momentum = 0.9
        c.schedule = .multistep
        c.optimizer = .sgd
        return 1e-4 * stepSum(c, trainCount: 50_000)
    }

    /// The largest λβ whose drift over a run of `config` stays within the paper's.
    public static func maximumBetaWeight(for config: TrainConfig, trainCount: Int) -> Float {
        Float(paperDrift / max(stepSum(config, trainCount: trainCount), 1e-12))
    }
}

/// The paper's selection rule (appendix E): "the largest regularizing constants that did not
/// affect predictive performance" — the largest grid weight whose accuracy is at least
/// Standard's minus the tolerance. When none qualifies, the smallest weight of the grid (the
/// paper's own value) is kept and the calibration says so.
public enum CalibrationRule {
    /// `cap`: the largest weight allowed at all (``PenaltyDrift`` for the LCNN penalty).
    public static func choose(_ points: [(weight: Float, accuracy: Double)], reference: Double,
                              tolerance: Double, cap: Float = .infinity) -> (weight: Float, withinTolerance: Bool)? {
        guard let smallest = points.map(\.weight).min() else { return nil }
        let kept = points.filter { $0.accuracy >= reference - tolerance && $0.weight <= cap }
        guard let largest = kept.map(\.weight).max() else { return (smallest, false) }
        return (largest, true)
    }
}

/// What `lcnn calibrate` and the first step of `lcnn reproduce` produce (`calibration.json`).
public struct CalibrationResult: Codable, Sendable, Equatable {
    public var dataset: DatasetName
    public var architecture: Architecture
    public var seed: UInt64
    public var settings: CalibrationSettings
    public var reference: CalibrationPoint
    public var weights: [WeightCalibration]

    /// The chosen value of `weight`, if it was calibrated.
    public func chosen(_ weight: CalibratedWeight) -> Float? { weights.first { $0.weight == weight }?.chosen }

    /// Sets every calibrated weight in `config` (each only where the method uses it).
    public func apply(to config: inout TrainConfig) {
        for w in weights { w.weight.apply(w.chosen, to: &config) }
    }

    /// The table of the report and of `lcnn calibrate`: weight → accuracy, G1, C(x).
    public var markdown: String {
        let s = settings
        var text = "Short runs: the first \(s.trainSubset) training images, \(s.epochs) epoch\(s.epochs == 1 ? "" : "s") with the "
            + "protocol's loop, seed \(seed); accuracy on \(s.validationCount) held-out training images (95 % Wilson interval); "
            + "G1 and C(x) means on \(s.samples) of them. Rule (paper appendix E): the largest weight whose accuracy is at "
            + "least Standard's minus \(Self.points(s.tolerance)) point\(s.tolerance == 0.01 ? "" : "s")"
            + (weights.compactMap(\.cap).first.map {
                ", and for LCNN at most \(Self.weight($0)): the penalty-drift bound of the run's length (λβ·Σ lr/(1 − μ) ≤ the paper's own, "
                    + String(format: "%.1f", PenaltyDrift.paperDrift) + ")"
            } ?? "") + ".\n\n"
        text += "| method | weight | accuracy | G1 | C(x) | s | chosen |\n|---|---:|---:|---:|---:|---:|---|\n"
        func row(_ name: String, _ p: CalibrationPoint, _ mark: String) -> String {
            p.diverged.map { reason in
                "| \(name) | \(p.weight.map { Self.weight($0) } ?? "—") | diverged | — | — | \(String(format: "%.0f", p.seconds)) | \(reason) |\n"
            } ?? "| \(name) | \(p.weight.map { Self.weight($0) } ?? "—") | \(Self.percent(p.accuracy)) "
                + "\(p.accuracyInterval.formatted { Self.percent($0) }) | \(Self.number(p.gradientNorm)) | "
                + "\(Self.number(p.curvature)) | \(String(format: "%.0f", p.seconds)) | \(mark) |\n"
        }
        text += row("standard", reference, "reference")
        for w in weights {
            for p in w.points {
                let mark = p.weight == w.chosen ? (w.withinTolerance ? "**chosen**" : "**none within tolerance: smallest kept**") : ""
                text += row("\(w.weight.method.rawValue) \(w.weight.symbol)", p, mark)
            }
        }
        return text
    }

    static func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
    static func points(_ x: Double) -> String { String(format: "%g", 100 * x) }
    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "—" }
    public static func weight(_ x: Float) -> String { String(format: "%g", x) }
}
