import Foundation

/// Percentile bootstrap: B resamples with replacement, the statistic θ* of each, then
///   interval = [Q*(α/2), Q*(1 − α/2)]   (Q* the empirical quantile of the θ*, linear
///              interpolation between order statistics, numpy's default "type 7"),
///   p-value  = min(1, 2·min((#{θ* ≤ θ₀} + 1)/(B + 1), (#{θ* ≥ θ₀} + 1)/(B + 1)))
/// against the null value θ₀. Reference: B. Efron & R. J. Tibshirani, "An Introduction to
/// the Bootstrap", Chapman & Hall 1993, ch. 13 (percentile interval) and ch. 15–16 (tests);
/// the +1 correction as in Davison & Hinkley 1997, §4.2.
/// Any non-finite input value makes the whole result NaN (the caller reports it).
extension Statistics {
    /// Mean with a percentile-bootstrap interval (resamples default 2000, seed default 0).
    /// Empty or non-finite input → value NaN with [NaN, NaN]; one value x → [x, x].
    /// resamples < 1 or a level outside (0, 1) → the mean with [NaN, NaN].
    public static func bootstrapMean(
        _ xs: [Double], level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 0
    ) -> Estimate {
        guard !xs.isEmpty, allFinite(xs) else { return .undefined(level: level) }
        let value = mean(xs)
        guard isValidLevel(level), resamples >= 1 else {
            return Estimate(value: value, interval: .undefined(level: level))
        }
        if xs.count == 1 { return Estimate(value: value, interval: .init(lower: value, upper: value, level: level)) }
        var generator = BootstrapGenerator(seed: seed)
        let replicates = (0..<resamples).map { _ in resampledMean(xs, &generator) }
        return Estimate(value: value, interval: percentileSummary(replicates, null: 0, level: level).interval)
    }

    /// Paired comparison of mean(a) − mean(b) over pairs (a[i], b[i]) (same samples measured
    /// on two models): the bootstrap resamples pair indices, i.e. the differences dᵢ = aᵢ − bᵢ,
    /// θ = mean(d); two-sided p-value against 0 by the rule above. Counts that differ or are 0
    /// give NaN fields (count 0 when they differ), never a trap.
    public static func pairedBootstrap(
        _ a: [Double], _ b: [Double], level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 0
    ) -> Comparison {
        let test = "paired bootstrap"
        guard a.count == b.count else { return .undefined(test: test, count: 0, level: level) }
        guard !a.isEmpty, allFinite(a), allFinite(b) else {
            return .undefined(test: test, count: a.count, level: level)
        }
        let d = zip(a, b).map { $0 - $1 }
        return bootstrapComparison(
            point: mean(d), test: test, count: d.count, null: 0, level: level, resamples: resamples,
            seed: seed) { generator in resampledMean(d, &generator) }
    }

    /// Unpaired: mean(a) − mean(b), each resampled independently (e.g. per-epoch training
    /// times of two runs). Same p-value rule, null 0; count = a.count + b.count.
    public static func bootstrapDifference(
        _ a: [Double], _ b: [Double], level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 0
    ) -> Comparison {
        let test = "bootstrap"
        let count = a.count + b.count
        guard !a.isEmpty, !b.isEmpty, allFinite(a), allFinite(b) else {
            return .undefined(test: test, count: count, level: level)
        }
        return bootstrapComparison(
            point: mean(a) - mean(b), test: test, count: count, null: 0, level: level,
            resamples: resamples, seed: seed
        ) { generator in
            let ma = resampledMean(a, &generator)
            return ma - resampledMean(b, &generator)
        }
    }

    /// Unpaired ratio mean(a)/mean(b) with percentile interval; p-value against ratio == `nullRatio` (default 1) by the same rule.
    /// mean(b) = 0 gives NaN fields; a resample whose ratio is not finite (mean(b*) = 0)
    /// makes the interval and p-value NaN. isRatio is true, null = nullRatio.
    public static func bootstrapRatio(
        _ a: [Double], _ b: [Double], nullRatio: Double = 1, level: Double = 0.95, resamples: Int = 2000,
        seed: UInt64 = 0
    ) -> Comparison {
        let test = "bootstrap ratio"
        let count = a.count + b.count
        guard !a.isEmpty, !b.isEmpty, allFinite(a), allFinite(b), (mean(a) / mean(b)).isFinite else {
            return .undefined(test: test, isRatio: true, count: count, null: nullRatio, level: level)
        }
        var result = bootstrapComparison(
            point: mean(a) / mean(b), test: test, count: count, null: nullRatio, level: level,
            resamples: resamples, seed: seed
        ) { generator in
            let ma = resampledMean(a, &generator)
            return ma / resampledMean(b, &generator)
        }
        result.isRatio = true
        return result
    }
}

extension Statistics {
    /// Mean of n draws with replacement from `xs` (non-empty).
    static func resampledMean(_ xs: [Double], _ generator: inout BootstrapGenerator) -> Double {
        var sum = 0.0
        for _ in 0..<xs.count { sum += xs[generator.nextIndex(below: xs.count)] }
        return sum / Double(xs.count)
    }

    /// Runs `resamples` replicates of `statistic` from a generator seeded with `seed` and
    /// summarises them; the interval and p-value are NaN when a replicate is not finite,
    /// resamples < 1 or the level is outside (0, 1).
    static func bootstrapComparison(
        point: Double, test: String, count: Int, null: Double, level: Double, resamples: Int, seed: UInt64,
        statistic: (inout BootstrapGenerator) -> Double
    ) -> Comparison {
        var result = Comparison(
            difference: point, interval: .undefined(level: level), pValue: .nan, test: test, count: count,
            null: null)
        guard isValidLevel(level), resamples >= 1, !null.isNaN else { return result }
        var generator = BootstrapGenerator(seed: seed)
        let replicates = (0..<resamples).map { _ in statistic(&generator) }
        guard allFinite(replicates) else { return result }
        let summary = percentileSummary(replicates, null: null, level: level)
        result.interval = summary.interval
        result.pValue = summary.pValue
        return result
    }

    /// Percentile interval and two-sided p-value (+1 corrected) of finite replicates.
    static func percentileSummary(_ replicates: [Double], null: Double, level: Double)
        -> (interval: ConfidenceInterval, pValue: Double)
    {
        let sorted = replicates.sorted()
        let alpha = 1 - level
        let interval = ConfidenceInterval(
            lower: quantile(sorted: sorted, alpha / 2), upper: quantile(sorted: sorted, 1 - alpha / 2),
            level: level)
        let b = Double(sorted.count)
        let atOrBelow = Double(sorted.filter { $0 <= null }.count)
        let atOrAbove = Double(sorted.filter { $0 >= null }.count)
        let p = min(1, 2 * min((atOrBelow + 1) / (b + 1), (atOrAbove + 1) / (b + 1)))
        return (interval, p)
    }

    /// Empirical quantile of sorted values, linear interpolation at h = (N − 1)·q (type 7).
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = Double(sorted.count - 1) * min(max(q, 0), 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
