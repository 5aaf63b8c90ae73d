import Foundation

/// A two-sided confidence interval [lower, upper] at confidence `level` (e.g. 0.95).
///
/// NaN bounds mean "no interval could be computed" (empty or invalid input).
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    /// The confidence level, e.g. 0.95.
    public var level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }

    /// The interval [NaN, NaN] at `level`.
    public static func undefined(level: Double) -> ConfidenceInterval {
        ConfidenceInterval(lower: .nan, upper: .nan, level: level)
    }

    /// Whether lower ≤ x ≤ upper (false when any of them is NaN).
    public func contains(_ x: Double) -> Bool {
        lower <= x && x <= upper
    }

    /// upper − lower.
    public var width: Double { upper - lower }

    /// Whether either bound is NaN.
    public var isUndefined: Bool { lower.isNaN || upper.isNaN }

    /// "[lo, hi]" with each bound written by `f`, e.g. `formatted { String(format: "%.3f", $0) }`.
    public func formatted(_ f: (Double) -> String) -> String {
        "[\(f(lower)), \(f(upper))]"
    }
}

/// A point estimate with its confidence interval.
public struct Estimate: Codable, Sendable, Equatable {
    public var value: Double
    public var interval: ConfidenceInterval

    public init(value: Double, interval: ConfidenceInterval) {
        self.value = value
        self.interval = interval
    }

    /// value NaN with the interval [NaN, NaN].
    public static func undefined(level: Double) -> Estimate {
        Estimate(value: .nan, interval: .undefined(level: level))
    }
}
