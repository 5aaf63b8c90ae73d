import Foundation

/// Tick positions and tick labels for axes and colour bars.
public enum Ticks {
    /// "Nice" ticks (steps of 1, 2 or 5 × 10^k) inside `range`, increasing, about `target` of them.
    /// A degenerate or non-finite range gives its lower bound alone (or nothing if non-finite).
    public static func linear(_ range: ClosedRange<Double>, target: Int = 5) -> [Double] {
        let lo = range.lowerBound, hi = range.upperBound
        guard lo.isFinite, hi.isFinite else { return [] }
        guard hi > lo else { return [lo] }
        let step = niceStep((hi - lo) / Double(max(target, 1)))
        guard step > 0, step.isFinite else { return [lo] }
        // Round ticks to the step's decimal precision so 3 × 0.2 prints as 0.6.
        let digits = pow(10, max(0, -floor(Foundation.log10(step)) + 2))
        let slack = step * 1e-9
        var ticks: [Double] = []
        var k = (lo / step).rounded(.up)
        while k * step <= hi + slack, ticks.count < 1000 {
            var v = k * step
            if digits.isFinite, abs(v * digits) < 1e15 { v = (v * digits).rounded() / digits }
            if v == 0 { v = 0 }  // no "-0"
            if let previous = ticks.last, v <= previous { break }   // the step is below this range's precision
            ticks.append(v)
            k += 1
        }
        return ticks
    }

    /// The powers of ten inside `range` (given in data units, both bounds > 0), increasing.
    public static func log10(_ range: ClosedRange<Double>) -> [Double] {
        let lo = range.lowerBound, hi = range.upperBound
        guard lo > 0, hi.isFinite, lo.isFinite else { return [] }
        let first = Int((Foundation.log10(lo) - 1e-9).rounded(.up))
        let last = Int((Foundation.log10(hi) + 1e-9).rounded(.down))
        guard first <= last else { return [] }
        return (first...last).map { pow(10, Double($0)) }
    }

    /// A compact label: `0`, `0.5`, `10`, `1234.5`, `1e-3`, `2.5e+04`. Plain notation for
    /// 0.01 ≤ |v| < 10⁴ (six significant digits at most), otherwise mantissa + exponent.
    public static func label(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e-2 && magnitude < 1e4 {
            return String(format: "%.6g", value)
        }
        var exponent = Int(floor(Foundation.log10(magnitude)))
        var mantissa = value / pow(10, Double(exponent))
        if abs((mantissa * 100).rounded() / 100) >= 10 {
            exponent += 1
            mantissa /= 10
        }
        let m = String(format: "%.3g", mantissa)
        if exponent < 0 { return "\(m)e-\(-exponent)" }
        return m + "e+" + (exponent < 10 ? "0\(exponent)" : "\(exponent)")
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 0 }
        let magnitude = pow(10, floor(Foundation.log10(raw)))
        let normalized = raw / magnitude
        let nice: Double = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10
        return nice * magnitude
    }
}
