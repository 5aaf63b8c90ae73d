import TensorCore

/// Seeded test inputs.
public enum Fixtures {
    /// N(0, std²) values of the given shape from `seed`.
    public static func normal(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.normal(shape, std: std, generator: &g)
    }

    /// U[low, high) values of the given shape from `seed`.
    public static func uniform(_ shape: [Int], seed: UInt64, low: Float = 0, high: Float = 1) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, low: low, high: high, generator: &g)
    }

    /// Values bounded away from zero (|x| in [0.2, 1.5]) with random signs, for functions with
    /// a kink or singularity at 0 (abs, relu, max-pool ties, division).
    public static func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let values = (0..<Shape.count(shape)).map { _ -> Float in
            let magnitude = 0.2 + 1.3 * g.nextUniform()
            return g.nextUniform() < 0.5 ? -magnitude : magnitude
        }
        return Tensor(values, shape: shape)
    }

    /// Distinct values (a shuffled, spaced ramp) so that max-type operations have no ties.
    public static func distinct(_ shape: [Int], seed: UInt64, spacing: Float = 0.05) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let n = Shape.count(shape)
        let order = g.permutation(n)
        return Tensor(order.map { (Float($0) - Float(n) / 2) * spacing }, shape: shape)
    }
}
