/// Per-sample vector helpers: a batch's first axis indexes samples, and each sample is the
/// vector of its remaining elements (`d = count / N` of them). Two forms, in one place:
/// - recorded tensor operations (`Tensor.perSampleNorm()`, `perSampleNormalized`,
///   `perSampleClippedNorm`), differentiable like any other composition of primitives;
/// - plain values (`PerSample`), not recorded, accumulated in Double, for measurements that
///   report numbers (distances, cosines, norms) rather than build graphs.

extension Tensor {
    /// ‖xᵢ‖₂ of each sample, shape `[N]`.
    public func perSampleNorm() -> Tensor { norm(axes: Array(1..<Swift.max(rank, 1))) }

    /// The per-sample norms shaped `[N, 1, …, 1]`, to broadcast against the batch.
    private func broadcastablePerSampleNorm() -> Tensor {
        perSampleNorm().reshaped(to: [shape[0]] + [Int](repeating: 1, count: rank - 1))
    }

    /// xᵢ / max(‖xᵢ‖₂, ε) for each sample: unit ℓ2 norm; zero samples stay zero.
    public func perSampleNormalized(epsilon: Float = 1e-12) -> Tensor {
        self / maximum(broadcastablePerSampleNorm(), epsilon)
    }

    /// xᵢ · min(r / ‖xᵢ‖₂, 1): each sample projected onto the ℓ2 ball of radius r (samples inside
    /// are unchanged).
    public func perSampleClippedNorm(_ radius: Float) -> Tensor {
        self * minimum(radius / maximum(broadcastablePerSampleNorm(), 1e-12), 1)
    }
}

/// Per-sample reductions on plain values (no recording), accumulated in Double.
public enum PerSample {
    /// `Σⱼ term(aᵢⱼ, bᵢⱼ)` for each sample i.
    public static func rowSums(_ a: Tensor, _ b: Tensor, _ term: (Double, Double) -> Double) -> [Double] {
        precondition(a.shape == b.shape, "PerSample.rowSums: shapes \(a.shape) and \(b.shape) differ")
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
    public static func dot(_ a: Tensor, _ b: Tensor) -> [Float] { rowSums(a, b) { $0 * $1 }.map(Float.init) }

    /// `‖aᵢ‖₂` for each sample i.
    public static func norm(_ a: Tensor) -> [Float] { squaredNorm(a).map { $0.squareRoot() } }

    /// `‖aᵢ‖₂²` for each sample i.
    public static func squaredNorm(_ a: Tensor) -> [Float] { rowSums(a, a) { x, _ in x * x }.map(Float.init) }

    /// `‖aᵢ − bᵢ‖₂` for each sample i.
    public static func distance(_ a: Tensor, _ b: Tensor) -> [Float] {
        rowSums(a, b) { ($0 - $1) * ($0 - $1) }.map { Float($0.squareRoot()) }
    }

    /// `aᵢ · sᵢ` (each sample scaled by its own factor), as a new tensor without history.
    public static func scaled(_ a: Tensor, by s: [Float]) -> Tensor {
        let n = a.shape[0], d = a.count / Swift.max(1, n)
        precondition(s.count == n, "PerSample.scaled: \(s.count) factors for \(n) samples")
        var out = [Float](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { p in
            for i in 0..<n { for j in (i * d)..<((i + 1) * d) { out[j] = p[j] * s[i] } }
        }
        return Tensor(out, shape: a.shape)
    }

    /// Random directions of unit ℓ2 norm per sample (normalised Gaussians), of the given shape.
    public static func unitDirections(_ shape: [Int], generator: inout SeededGenerator) -> Tensor {
        let z = Tensor.normal(shape, generator: &generator)
        return scaled(z, by: norm(z).map { $0 > 0 ? 1 / $0 : 0 })
    }
}
