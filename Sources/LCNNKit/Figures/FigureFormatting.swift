import Foundation

/// Evenly spaced values from `range.lowerBound` to `range.upperBound` inclusive.
func linspace(_ range: ClosedRange<Double>, count: Int) -> [Double] {
    guard count > 1 else { return [range.lowerBound] }
    let step = (range.upperBound - range.lowerBound) / Double(count - 1)
    return (0..<count).map { range.lowerBound + Double($0) * step }
}

/// `value` with `digits` significant digits, for captions and findings.
func formatted(_ value: Double, digits: Int = 3) -> String {
    guard value.isFinite else { return "\(value)" }
    return String(format: "%.\(digits)g", value)
}
