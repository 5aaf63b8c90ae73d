import TensorCore

/// Projected gradient descent attacks (Madry et al. 2018) on inputs in [0, 1] (SPEC A1, A3).
///
/// Each step ascends the summed cross-entropy: ℓ2 takes `δ ← δ + α·g/‖g‖` per sample and projects
/// δ onto the ε-ball; ℓ∞ takes `δ ← δ + α·sign(g)` and clips δ to [−ε, ε]. After every step
/// `x + δ` is clipped to [0, 1]. With a random start, δ begins uniform in [−ε, ε] per pixel
/// (ℓ∞) or that draw projected onto the ℓ2 ball (as the peer benchmark does).
public struct PGD: Sendable {
    public enum Norm: String, Sendable, CaseIterable, Codable { case l2, linf }

    public var norm: Norm
    public var epsilon: Float
    public var steps: Int
    /// Step size α; defaults to 2.5·ε/steps (Madry et al.'s rule).
    public var stepSize: Float
    public var randomStart: Bool

    public init(norm: Norm = .l2, epsilon: Float, steps: Int = 10, stepSize: Float? = nil, randomStart: Bool = true) {
        precondition(epsilon >= 0 && steps >= 0, "PGD: ε and steps must be non-negative")
        self.norm = norm
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize ?? 2.5 * epsilon / Float(max(steps, 1))
        self.randomStart = randomStart
    }

    /// Adversarial examples for `x` (labels `labels`), within the ε-ball around x and in [0, 1].
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int], generator: inout SeededGenerator) -> Tensor {
        var delta = Tensor.zeros(x.shape)
        if randomStart && epsilon > 0 {
            delta = Tensor.uniform(x.shape, low: -epsilon, high: epsilon, generator: &generator)
            if norm == .l2 { delta = withoutGrad { delta.perSampleClippedNorm(epsilon) } }
            delta = withoutGrad { clamp(x + delta, min: 0, max: 1) - x }
        }
        for _ in 0..<steps {
            let g = inputGradient(of: classifier, at: withoutGrad { x + delta }, labels: labels).gradient
            delta = withoutGrad {
                switch norm {
                case .l2: return (delta + g.perSampleNormalized() * stepSize).perSampleClippedNorm(epsilon)
                case .linf: return clamp(delta + sign(g) * stepSize, min: -epsilon, max: epsilon)
                }
            }
            delta = withoutGrad { clamp(x + delta, min: 0, max: 1) - x }
        }
        return withoutGrad { clamp(x + delta, min: 0, max: 1) }
    }
}
