import Foundation

/// The measurements of one protocol run over its seeds, as the report's tables give them (SPEC
/// S3/S4): each accuracy as k/n pooled over the seeds' samples with a 95 % Wilson interval,
/// each mean of a per-sample quantity with a 95 % percentile-bootstrap interval over the pooled
/// samples, and — with more than one seed — the mean ± std across the seeds' own values.
public struct PooledResults: Sendable {
    public var group: String
    public var results: [EvaluationResult]
    public var seed: UInt64

    public init(group: String, results: [EvaluationResult], seed: UInt64 = 0) {
        self.group = group
        self.results = results
        self.seed = seed
    }

    /// Test accuracy over the whole test set, pooled over seeds.
    public var accuracy: Estimate {
        let flags = results.compactMap(\.testCorrect)
        guard flags.count == results.count, !flags.isEmpty else {
            let mean = results.map(\.testAccuracy).reduce(0, +) / Double(max(results.count, 1))
            return Estimate(value: mean, interval: .undefined(level: 0.95))
        }
        return Statistics.proportion(successes: flags.reduce(0) { $0 + $1.trueCount }, trials: flags.reduce(0) { $0 + $1.count })
    }

    /// Mean of a per-sample test quantity (G1, G2 or C) with its bootstrap interval.
    public func mean(_ quantity: KeyPath<CurvatureSummary.PerSampleCurvature, [Float]>) -> Estimate? {
        let values = results.compactMap { $0.test?.perSample?[keyPath: quantity] }
        guard values.count == results.count, !values.isEmpty else { return nil }
        return Statistics.bootstrapMean(values.flatMap { $0.map(Double.init) }, seed: seed)
    }

    /// Robust accuracy of `report` (PGD or FGSM) at ε, pooled over seeds.
    public func robust(_ report: KeyPath<EvaluationResult, RobustAccuracyReport?>, epsilon: Float) -> Estimate? {
        let points = results.compactMap { $0[keyPath: report]?.points.first { Swift.abs($0.epsilon - epsilon) < 1e-6 } }
        guard points.count == results.count, !points.isEmpty else { return nil }
        return Statistics.proportion(successes: points.reduce(0) { $0 + $1.robustCorrect }, trials: points.reduce(0) { $0 + $1.samples })
    }

    /// Mean ± std across seeds of a per-seed value (nil with one seed).
    public func acrossSeeds(_ value: (EvaluationResult) -> Double?) -> MeanStd? {
        guard results.count > 1 else { return nil }
        let values = results.compactMap(value)
        return values.count == results.count ? MeanStd(values) : nil
    }

    /// "91.23% [90.6, 91.8]" or "91.23% [90.6, 91.8] (seeds 91.1 ± 0.2)".
    public static func percentText(_ e: Estimate?, seeds: MeanStd? = nil) -> String {
        guard let e else { return "—" }
        var text = String(format: "%.2f%%", 100 * e.value)
        if !e.interval.isUndefined { text += " " + e.interval.formatted { String(format: "%.1f", 100 * $0) } }
        if let seeds { text += String(format: " (seeds %.2f ± %.2f)", 100 * seeds.mean, 100 * seeds.std) }
        return text
    }

    /// "0.5432 [0.51, 0.58]" (and the across-seed mean ± std).
    public static func meanText(_ e: Estimate?, seeds: MeanStd? = nil) -> String {
        guard let e, e.value.isFinite else { return "—" }
        var text = String(format: "%.4g", e.value)
        if !e.interval.isUndefined { text += " " + e.interval.formatted { String(format: "%.3g", $0) } }
        if let seeds { text += String(format: " (seeds %.4g ± %.2g)", seeds.mean, seeds.std) }
        return text
    }
}
