import Foundation

/// Uncertainty for experiment results: confidence intervals for proportions and means, paired
/// and unpaired comparisons with p-values, and the verdicts built on them (`Verdict`).
///
/// Everything is deterministic: the bootstrap draws from `BootstrapGenerator` (SplitMix64)
/// seeded by the caller, so the same inputs and seed always give the same numbers.
/// Invalid input (empty samples, mismatched pairs, non-finite values, a `level` outside (0, 1))
/// never traps; it yields NaN fields, which `Verdict` reads as inconclusive.
public enum Statistics {}

extension Statistics {
    /// Whether `level` is a usable confidence level, 0 < level < 1.
    static func isValidLevel(_ level: Double) -> Bool {
        level > 0 && level < 1
    }

    /// The two-sided critical value z_{1−α/2} for a confidence `level` = 1 − α.
    static func criticalValue(level: Double) -> Double {
        normalQuantile(0.5 + level / 2)
    }

    /// Arithmetic mean Σxᵢ / n (NaN for no values).
    static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// The median (the mean of the two middle values for an even count); nil for no values.
    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// Whether every value is finite (no NaN, no ±∞).
    static func allFinite(_ xs: [Double]) -> Bool {
        xs.allSatisfy(\.isFinite)
    }
}
