import Foundation

/// McNemar's test in its exact binomial form: under H₀ the discordant pairs split 50/50, so
/// n10 ~ Binomial(n10 + n01, ½) and
///   p = min(1, 2·P(X ≤ min(n10, n01))),   p = 1 when n10 + n01 = 0.
/// The effect is difference = (n10 − n01)/n = accuracy(a) − accuracy(b) with the Wald interval
/// for paired proportions, se = √(n10 + n01 − (n10 − n01)²/n) / n, difference ± z·se clamped
/// to [−1, 1]. Reference: Q. McNemar, "Note on the sampling error of the difference between
/// correlated proportions or percentages", Psychometrika 12 (1947) 153–157; interval as in
/// Agresti, "Categorical Data Analysis" (2002), §10.1.
extension Statistics {
    /// McNemar's exact test on paired outcomes (a[i], b[i]) (e.g. robust or not under attack,
    /// per sample, for two models): n10 = #(a true, b false), n01 = #(a false, b true).
    /// Counts that differ or are 0 give NaN fields (count 0 when they differ).
    public static func mcNemar(_ a: [Bool], _ b: [Bool], level: Double = 0.95) -> Comparison {
        guard a.count == b.count else { return .undefined(test: mcNemarName, count: 0, level: level) }
        var n10 = 0
        var n01 = 0
        for (x, y) in zip(a, b) where x != y {
            if x { n10 += 1 } else { n01 += 1 }
        }
        return mcNemar(aOnly: n10, bOnly: n01, total: a.count, level: level)
    }

    /// Aggregated form: n10 pairs where only a succeeded, n01 where only b did, n pairs in all.
    /// Invalid counts (negative, n10 + n01 > n, n = 0) or a level outside (0, 1) give NaN fields.
    public static func mcNemar(aOnly n10: Int, bOnly n01: Int, total n: Int, level: Double = 0.95) -> Comparison {
        guard n > 0, n10 >= 0, n01 >= 0, n10 + n01 <= n, isValidLevel(level) else {
            return .undefined(test: mcNemarName, count: max(n, 0), level: level)
        }
        let total = Double(n)
        let discordant = Double(n10 + n01)
        let net = Double(n10 - n01)
        let difference = net / total
        let se = max(0, discordant - net * net / total).squareRoot() / total
        let z = criticalValue(level: level)
        let interval = ConfidenceInterval(
            lower: max(-1, difference - z * se), upper: min(1, difference + z * se), level: level)
        let p = n10 + n01 == 0 ? 1 : min(1, 2 * binomialHalfLowerTail(min(n10, n01), of: n10 + n01))
        return Comparison(
            difference: difference, interval: interval, pValue: p, test: mcNemarName, count: n, null: 0)
    }

    static let mcNemarName = "McNemar exact"

    /// P(X ≤ k) for X ~ Binomial(m, ½), 0 ≤ k ≤ m. Large m in log space (up to ~1e9 works):
    /// log P(X = k) = lnΓ(m+1) − lnΓ(k+1) − lnΓ(m−k+1) − m·ln 2, then the terms below k by
    /// the ratio P(X = j−1)/P(X = j) = j/(m − j + 1), summed until they stop mattering.
    /// For m ≤ 1000 the sum runs upward from P(X = 0) = 2⁻ᵐ directly (no lgamma rounding).
    static func binomialHalfLowerTail(_ k: Int, of m: Int) -> Double {
        if k >= m { return 1 }
        if m <= 1000 {
            var term = Double(sign: .plus, exponent: -m, significand: 1)  // 2⁻ᵐ
            var sum = term
            for j in stride(from: 0, to: k, by: 1) {
                term *= Double(m - j) / Double(j + 1)
                sum += term
            }
            return min(1, sum)
        }
        let mm = Double(m)
        let kk = Double(k)
        let logChoose: Double = lgamma(mm + 1) - lgamma(kk + 1) - lgamma(mm - kk + 1)
        let logTop: Double = logChoose - mm * log(2.0)
        var sum = 1.0  // Σ P(X = j)/P(X = k) for j = k, k−1, …
        var term = 1.0
        var j = k
        while j > 0 {
            term *= Double(j) / (mm - Double(j) + 1)
            sum += term
            if term < sum * 1e-17 { break }
            j -= 1
        }
        return min(1, exp(logTop + log(sum)))
    }
}
