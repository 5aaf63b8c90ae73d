import TensorCore

/// SPEC G5 (the paper's Figure 2): how much the input gradient moves under small input noise.
///
/// For noise norms `r` log-spaced in `[minimumNoise, maximumNoise]` (`levels` of them) and a
/// random direction `d` per sample (`‖d‖ = 1`, normalised Gaussian, seeded), with `ε = r·d`:
/// `ρ(x, r) = ‖∇ₓℓ(x + ε) − ∇ₓℓ(x)‖ / ‖∇ₓℓ(x)‖`. To first order `∇ℓ(x+ε) − ∇ℓ(x) ≈ Hε`, so
/// `ρ ≤ ‖ε‖·‖H‖/‖∇ℓ‖ = ‖ε‖·C(x)` (the theory line, with C of G3); equality along the top
/// eigenvector of a quadratic loss.
public struct GradientRobustness: Sendable, Codable, Equatable {
    public var levels: Int
    public var minimumNoise: Float
    public var maximumNoise: Float
    /// Random directions drawn per sample and level (their ratios are all kept).
    public var draws: Int
    public var seed: UInt64

    public init(levels: Int = 5, minimumNoise: Float = 1e-3, maximumNoise: Float = 1e-1, draws: Int = 1, seed: UInt64 = 2) {
        precondition(levels >= 1 && draws >= 1 && minimumNoise > 0 && maximumNoise >= minimumNoise)
        self.levels = levels
        self.minimumNoise = minimumNoise
        self.maximumNoise = maximumNoise
        self.draws = draws
        self.seed = seed
    }

    /// The noise norms, log-spaced from `minimumNoise` to `maximumNoise`.
    public var noiseNorms: [Float] {
        guard levels > 1 else { return [minimumNoise] }
        let a = _log(Double(minimumNoise)), b = _log(Double(maximumNoise))
        return (0..<levels).map { Float(_exp(a + (b - a) * Double($0) / Double(levels - 1))) }
    }

    /// Ratios `ρ` for one batch: `ratios[level]` holds `draws × batch` values (draw-major).
    /// `gradient` is `∇ₓℓ(x)` for the batch; `loss` the batch loss (samples independent).
    public func ratios(at x: Tensor, gradient: Tensor, loss: BatchLoss, generator: inout SeededGenerator) -> [[Float]] {
        let baseNorm = PerSample.norm(gradient)
        return noiseNorms.map { r in
            var out: [Float] = []
            for _ in 0..<draws {
                let d = PerSample.unitDirections(x.shape, generator: &generator)
                let shifted = withoutGrad { x + d * r }
                let g = Self.gradient(of: loss, at: shifted)
                let diff = PerSample.distance(g, gradient)
                out += zip(diff, baseNorm).map { $0 / ($1 + 1e-12) }
            }
            return out
        }
    }

    /// `∇ₓ Σᵢℓ(xᵢ)` without recording the backward pass.
    static func gradient(of loss: BatchLoss, at x: Tensor) -> Tensor {
        let input = x.detached().requiringGrad()
        let value = withGrad { loss(input) }
        guard value.requiresGrad else { return Tensor.zeros(x.shape) }
        return gradients(of: value, wrt: [input])[0]
    }

    /// One point of the Figure-2 curve: the ratio statistics at one noise norm, and the
    /// theory line `‖ε‖·E[C(x)]`.
    public struct Level: Codable, Sendable, Equatable {
        public var noiseNorm: Double
        public var ratio: MeanStd
        public var theory: Double
    }
}
