import Foundation

extension Statistics {
    /// Wilson score interval for `successes` of `trials` (trials == 0 -> [0, 1]).
    ///
    /// With p̂ = k/n and z = Φ⁻¹(1 − α/2):
    ///   centre = (p̂ + z²/2n) / (1 + z²/n),
    ///   half   = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²),
    /// the interval is [centre − half, centre + half], exactly 0 at k = 0 and exactly 1 at k = n.
    /// Unlike the Wald interval p̂ ± z√(p̂(1 − p̂)/n) it does not collapse at k = 0 or k = n.
    /// Invalid counts (negative, k > n) or a level outside (0, 1) give [NaN, NaN].
    /// Reference: E. B. Wilson, "Probable inference, the law of succession, and statistical
    /// inference", JASA 22 (1927) 209–212.
    public static func wilson(successes: Int, trials: Int, level: Double = 0.95) -> ConfidenceInterval {
        guard isValidLevel(level), trials >= 0, successes >= 0, successes <= trials else {
            return .undefined(level: level)
        }
        if trials == 0 { return ConfidenceInterval(lower: 0, upper: 1, level: level) }
        let n = Double(trials)
        let p = Double(successes) / n
        let z = criticalValue(level: level)
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        let lower = successes == 0 ? 0 : max(0, centre - half)
        let upper = successes == trials ? 1 : min(1, centre + half)
        return ConfidenceInterval(lower: lower, upper: upper, level: level)
    }

    /// k/n with its Wilson interval (value NaN when trials == 0 or the counts are invalid).
    public static func proportion(successes: Int, trials: Int, level: Double = 0.95) -> Estimate {
        let valid = trials > 0 && successes >= 0 && successes <= trials
        let value = valid ? Double(successes) / Double(trials) : .nan
        return Estimate(value: value, interval: wilson(successes: successes, trials: trials, level: level))
    }
}
