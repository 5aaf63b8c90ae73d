import TensorCore

/// Projected gradient descent attacks (Madry et al. 2018) on inputs in [0, 1] (SPEC A1, A3).
///
/// Each step ascends the summed cross-entropy: ℓ2 takes `δ ← δ + α·g/‖g‖` per sample and projects
/// δ onto the ε-ball; ℓ∞ takes `δ ← δ + α·sign(g)` and clips δ to [−ε, ε]. After every step
/// `x + δ` is clipped to the input range ([0, 1] by default). With a random start, δ begins uniform in [−ε, ε] per pixel
/// (ℓ∞) or that draw projected onto the ℓ2 ball (as the peer benchmark does).
public struct PGD: Sendable {
    public enum Norm: String, Sendable, CaseIterable, Codable { case l2, linf }

    public var norm: Norm
    public var epsilon: Float
    public var steps: Int
    /// Step size α; defaults to 2.5·ε/steps (Madry et al.'s rule).
    public var stepSize: Float
    public var randomStart: Bool
    /// The valid input range that adversarial examples are clipped to ([0, 1] for images;
    /// nil for unbounded inputs such as two-moons coordinates).
    public var inputRange: ClosedRange<Float>?

    public init(norm: Norm = .l2, epsilon: Float, steps: Int = 10, stepSize: Float? = nil, randomStart: Bool = true,
                inputRange: ClosedRange<Float>? = 0...1) {
        precondition(epsilon >= 0 && steps >= 0, "PGD: ε and steps must be non-negative")
        self.norm = norm
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize ?? 2.5 * epsilon / Float(max(steps, 1))
        self.randomStart = randomStart
        self.inputRange = inputRange
    }

    /// `x + δ` clipped to the input range (unchanged without one).
    func clipped(_ x: Tensor) -> Tensor {
        guard let r = inputRange else { return x }
        return clamp(x, min: r.lowerBound, max: r.upperBound)
    }

    /// Adversarial examples for `x` (labels `labels`), within the ε-ball around x and in [0, 1].
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int], generator: inout SeededGenerator) -> Tensor {
        var delta = Tensor.zeros(x.shape)
        if randomStart && epsilon > 0 {
            delta = Tensor.uniform(x.shape, low: -epsilon, high: epsilon, generator: &generator)
            if norm == .l2 { delta = withoutGrad { delta.perSampleClippedNorm(epsilon) } }
            delta = withoutGrad { clipped(x + delta) - x }
        }
        for _ in 0..<steps {
            let g = inputGradient(of: classifier, at: withoutGrad { x + delta }, labels: labels).gradient
            delta = withoutGrad {
                switch norm {
                case .l2: return (delta + g.perSampleNormalized() * stepSize).perSampleClippedNorm(epsilon)
                case .linf: return clamp(delta + sign(g) * stepSize, min: -epsilon, max: epsilon)
                }
            }
            delta = withoutGrad { clipped(x + delta) - x }
        }
        return withoutGrad { clipped(x + delta) }
    }
}
