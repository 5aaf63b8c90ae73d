import TensorCore

/// Per-sample reductions on plain values (no recording): rows are the first axis.
enum PerSample {
    /// `Σⱼ term(aᵢⱼ, bᵢⱼ)` for each sample i, accumulated in Double.
    static func rowSums(_ a: Tensor, _ b: Tensor, _ term: (Double, Double) -> Double) -> [Double] {
        precondition(a.shape == b.shape)
        let n = a.shape[0], d = a.count / Swift.max(1, n)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                (0..<n).map { i in
                    var s: Double = 0
                    for j in (i * d)..<((i + 1) * d) { s += term(Double(pa[j]), Double(pb[j])) }
                    return s
                }
            }
        }
    }

    /// `⟨aᵢ, bᵢ⟩` for each sample i.
    static func dot(_ a: Tensor, _ b: Tensor) -> [Float] { rowSums(a, b) { $0 * $1 }.map(Float.init) }

    /// `‖aᵢ‖₂` for each sample i.
    static func norm(_ a: Tensor) -> [Float] { squaredNorm(a).map { $0.squareRoot() } }

    /// `‖aᵢ‖₂²` for each sample i.
    static func squaredNorm(_ a: Tensor) -> [Float] { rowSums(a, a) { x, _ in x * x }.map(Float.init) }

    /// `‖aᵢ − bᵢ‖₂` for each sample i.
    static func distance(_ a: Tensor, _ b: Tensor) -> [Float] {
        rowSums(a, b) { ($0 - $1) * ($0 - $1) }.map { Float($0.squareRoot()) }
    }

    /// `aᵢ · sᵢ` (each sample scaled by its own factor), as a new tensor without history.
    static func scaled(_ a: Tensor, by s: [Float]) -> Tensor {
        let n = a.shape[0], d = a.count / Swift.max(1, n)
        precondition(s.count == n)
        var out = [Float](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { p in
            for i in 0..<n { for j in (i * d)..<((i + 1) * d) { out[j] = p[j] * s[i] } }
        }
        return Tensor(out, shape: a.shape)
    }

    /// Random directions of unit ℓ2 norm per sample (normalised Gaussians), of the given shape.
    static func unitDirections(_ shape: [Int], generator: inout SeededGenerator) -> Tensor {
        let z = Tensor.normal(shape, generator: &generator)
        return scaled(z, by: norm(z).map { $0 > 0 ? 1 / $0 : 0 })
    }
}

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
