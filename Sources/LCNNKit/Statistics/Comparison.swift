import Foundation

/// The result of comparing a with b: `difference` is a − b (or a/b for ratios, see `isRatio`),
/// with its confidence interval and a two-sided p-value against `null`.
public struct Comparison: Codable, Sendable, Equatable {
    public var difference: Double
    public var interval: ConfidenceInterval
    public var pValue: Double
    /// "McNemar exact", "paired bootstrap", "bootstrap", "bootstrap ratio"
    public var test: String
    public var isRatio: Bool
    /// Pairs (or a.count + b.count) behind the test.
    public var count: Int
    /// The value of `difference` under the null hypothesis (0, or nullRatio for ratios).
    public var null: Double

    public init(
        difference: Double, interval: ConfidenceInterval, pValue: Double, test: String,
        isRatio: Bool = false, count: Int, null: Double = 0
    ) {
        self.difference = difference
        self.interval = interval
        self.pValue = pValue
        self.test = test
        self.isRatio = isRatio
        self.count = count
        self.null = null
    }

    /// A comparison that could not be computed: difference, interval and p-value are NaN.
    public static func undefined(
        test: String, isRatio: Bool = false, count: Int, null: Double = 0, level: Double
    ) -> Comparison {
        Comparison(
            difference: .nan, interval: .undefined(level: level), pValue: .nan, test: test,
            isRatio: isRatio, count: count, null: null)
    }

    /// Whether any numeric field (difference, bounds, p-value, null) is NaN.
    public var hasNaN: Bool {
        difference.isNaN || interval.isUndefined || pValue.isNaN || null.isNaN
    }
}

extension Comparison {
    /// The p-value for a report: "p < 1e-4" below 1e-4, "p = 0.0004" (four decimals) below
    /// 0.001, "p = 0.013" (three decimals) otherwise, "p = 1" when that rounds to 1.000,
    /// and "p = n/a" for NaN.
    public var pValueText: String {
        let p = pValue
        if p.isNaN { return "p = n/a" }
        if p < 1e-4 { return "p < 1e-4" }
        if p < 1e-3 { return "p = " + String(format: "%.4f", p) }
        let text = String(format: "%.3f", p)
        return text == "1.000" ? "p = 1" : "p = " + text
    }
}
