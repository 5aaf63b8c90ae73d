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
}

/// The paper's selection rule (appendix E): "the largest regularizing constants that did not
/// affect predictive performance" — the largest grid weight whose accuracy is at least
/// Standard's minus the tolerance. When none qualifies, the smallest weight of the grid (the
/// paper's own value) is kept and the calibration says so.
public enum CalibrationRule {
    public static func choose(_ points: [(weight: Float, accuracy: Double)], reference: Double,
                              tolerance: Double) -> (weight: Float, withinTolerance: Bool)? {
        guard let smallest = points.map(\.weight).min() else { return nil }
        let kept = points.filter { $0.accuracy >= reference - tolerance }
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
            + "least Standard's minus \(Self.points(s.tolerance)) point\(s.tolerance == 0.01 ? "" : "s").\n\n"
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
