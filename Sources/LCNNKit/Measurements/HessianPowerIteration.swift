import TensorCore

/// SPEC G2: the spectral norm `‖∇²ₓℓ(xᵢ)‖₂` of every sample's input Hessian, by power iteration
/// on exact Hessian-vector products (double backprop), as in the authors' `estimate_curvature.py`.
///
/// From a seeded random start `u₀` (unit norm per sample), each of the `iterations` steps takes
/// one product `Hu` and updates `u ← Hu / (‖Hu‖ + 1e-6)` per sample; one final product gives the
/// Rayleigh quotient `σ = ⟨u, Hu⟩`, whose magnitude `|σ|` is the estimate (`iterations + 1`
/// products in all; with 10 iterations, the 11 of the reference and of peers' T2). Power
/// iteration converges to the eigenvalue of largest magnitude, which may be negative: `σ`
/// keeps its sign (``Result/dominantEigenvalue``). A sample has converged when the last two
/// Rayleigh quotients satisfy `|σ_k − σ_{k−1}| ≤ tolerance·|σ_k|`.
public struct HessianPowerIteration: Sendable, Codable, Equatable {
    /// Power steps before the final Rayleigh quotient (reference: 10–20).
    public var iterations: Int
    /// Relative tolerance of the convergence test on successive Rayleigh quotients.
    public var tolerance: Float
    /// Seed of the random start.
    public var seed: UInt64
    /// Stop before `iterations` once every sample of the batch has converged.
    public var stopWhenAllConverged: Bool

    public init(iterations: Int = 20, tolerance: Float = 1e-3, seed: UInt64 = 0, stopWhenAllConverged: Bool = false) {
        precondition(iterations >= 1, "HessianPowerIteration: iterations must be ≥ 1")
        self.iterations = iterations
        self.tolerance = tolerance
        self.seed = seed
        self.stopWhenAllConverged = stopWhenAllConverged
    }

    /// Per-sample result of one batch.
    public struct Result: Sendable {
        /// The final Rayleigh quotient `⟨u, Hu⟩` (signed): the dominant eigenvalue estimate.
        public var dominantEigenvalue: [Float]
        /// `|σ|`, the spectral-norm estimate.
        public var spectralNorm: [Float]
        /// Whether `|σ_k − σ_{k−1}| ≤ tolerance·|σ_k|` held at the end.
        public var converged: [Bool]
        /// The final unit direction `u` per sample (the top-eigenvector estimate).
        public var direction: Tensor
        /// Hessian-vector products taken (power steps + 1).
        public var productCount: Int
        /// Number of samples that converged.
        public var convergedCount: Int { converged.lazy.filter { $0 }.count }
    }

    /// Runs the iteration on a recorded input Hessian (one batch, all samples at once).
    public func run(_ hessian: InputHessian) -> Result {
        var generator = SeededGenerator(seed: seed)
        var u = PerSample.unitDirections(hessian.input.shape, generator: &generator)
        let n = hessian.batchSize
        var previous = [Float](repeating: .nan, count: n)
        var sigma = [Float](repeating: 0, count: n)
        var converged = [Bool](repeating: false, count: n)
        var products = 0
        for step in 0...iterations {
            let hu = hessian.hvp(u)
            products += 1
            sigma = PerSample.dot(u, hu)
            if step > 0 {
                for i in 0..<n {
                    converged[i] = Swift.abs(sigma[i] - previous[i]) <= tolerance * Swift.abs(sigma[i])
                }
            }
            previous = sigma
            if step == iterations || (stopWhenAllConverged && step > 0 && !converged.contains(false)) { break }
            u = PerSample.scaled(hu, by: PerSample.norm(hu).map { 1 / ($0 + 1e-6) })
        }
        return Result(dominantEigenvalue: sigma, spectralNorm: sigma.map { Swift.abs($0) }, converged: converged,
                      direction: u, productCount: products)
    }
}
