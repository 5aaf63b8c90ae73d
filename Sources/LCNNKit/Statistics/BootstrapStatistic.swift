import Foundation

extension Statistics {
    /// Percentile bootstrap of an arbitrary statistic of one or more independent samples.
    ///
    /// `counts[j]` is the size of sample j. The point estimate is `statistic` applied to the
    /// identity indices (`[0..<counts[0], 0..<counts[1], …]`); each of the `resamples`
    /// replicates applies it to index arrays drawn with replacement, every sample j resampled
    /// independently of the others (`counts[j]` draws from `0..<counts[j]`), in the order j = 0, 1, ….
    /// Quantities measured on the same units share one index array: pass them as one sample and
    /// read them all through the same indices (e.g. a test set's G1 and C are paired, the
    /// training set is a second, independent sample).
    ///
    /// Interval and two-sided p-value against `null` follow the rule of `bootstrapMean`
    /// (percentile interval, +1-corrected p). `count` of the result is Σ counts.
    /// No samples, an empty sample or a non-finite point estimate → NaN fields; a non-finite
    /// replicate, resamples < 1 or a level outside (0, 1) → the point estimate with NaN interval
    /// and p-value. Never traps.
    public static func bootstrap(
        counts: [Int], null: Double = 0, level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 0,
        test: String = "bootstrap", statistic: ([[Int]]) -> Double
    ) -> Comparison {
        let total = counts.reduce(0) { $0 + max($1, 0) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
            return .undefined(test: test, count: total, null: null, level: level)
        }
        let point = statistic(counts.map { Array(0..<$0) })
        guard point.isFinite else { return .undefined(test: test, count: total, null: null, level: level) }
        var scratch = counts.map { [Int](repeating: 0, count: $0) }
        return bootstrapComparison(
            point: point, test: test, count: total, null: null, level: level, resamples: resamples, seed: seed
        ) { generator in
            for j in counts.indices {
                let n = counts[j]
                for i in 0..<n { scratch[j][i] = generator.nextIndex(below: n) }
            }
            return statistic(scratch)
        }
    }

    /// One-sample form: `statistic` of the index array into a sample of `count` units.
    public static func bootstrap(
        count: Int, null: Double = 0, level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 0,
        test: String = "bootstrap", statistic: ([Int]) -> Double
    ) -> Comparison {
        bootstrap(counts: [count], null: null, level: level, resamples: resamples, seed: seed, test: test) {
            statistic($0[0])
        }
    }
}
