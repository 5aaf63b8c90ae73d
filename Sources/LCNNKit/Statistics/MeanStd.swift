/// Mean and (population) standard deviation of a set of values.
public struct MeanStd: Codable, Sendable, Equatable {
    public var mean: Double
    public var std: Double
    public var count: Int

    public init(mean: Double, std: Double, count: Int) {
        self.mean = mean; self.std = std; self.count = count
    }

    /// Statistics of `values` (mean 0, std 0 for none).
    public init<S: Sequence>(_ values: S) where S.Element: BinaryFloatingPoint {
        let xs = values.map { Double($0) }
        let mean = xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
        let variance = xs.isEmpty ? 0 : xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
        self.init(mean: mean, std: variance.squareRoot(), count: xs.count)
    }
}
