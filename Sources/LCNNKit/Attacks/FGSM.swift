import TensorCore

/// The fast gradient sign method (Goodfellow et al. 2015) and its ℓ2 variant (SPEC A2).
///
/// One step along the gradient of the loss ℓ (cross-entropy of the given labels) w.r.t. the input,
/// with g = ∇ₓℓ(x, y) per sample:
/// - ℓ∞: `x_adv = clip(x + ε·sign(g))`, so ‖x_adv − x‖∞ ≤ ε;
/// - ℓ2: `x_adv = clip(x + ε·g/‖g‖₂)`, so ‖x_adv − x‖₂ ≤ ε (a sample with g = 0 does not move).
///
/// `clip` clamps to the input range ([0, 1] by default, ε measured in that scale); clamping only
/// moves coordinates back towards x, so the results stay inside the ε-ball. With
/// `inputRange: nil` nothing is clipped (unbounded inputs such as two-moons coordinates).
public struct FGSM: Sendable {
    public var norm: PGD.Norm
    public var epsilon: Float
    /// The valid input range adversarial examples are clipped to; nil for unbounded inputs.
    public var inputRange: ClosedRange<Float>?

    public init(norm: PGD.Norm = .linf, epsilon: Float, inputRange: ClosedRange<Float>? = 0...1) {
        precondition(epsilon >= 0, "FGSM: ε must be non-negative")
        self.norm = norm
        self.epsilon = epsilon
        self.inputRange = inputRange
    }

    /// The ascent direction for the gradient `g`: sign(g) (ℓ∞) or g/‖g‖₂ per sample (ℓ2).
    public func direction(_ g: Tensor) -> Tensor {
        withoutGrad {
            switch norm {
            case .linf: return sign(g)
            case .l2: return g.perSampleNormalized()
            }
        }
    }

    /// Adversarial examples for `x` (labels `labels`), inside the ε-ball around x and the input range.
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int]) -> Tensor {
        guard epsilon > 0 else { return clipped(x.detached()) }
        let g = inputGradient(of: classifier, at: x, labels: labels).gradient
        return withoutGrad { clipped(x.detached() + direction(g) * epsilon) }
    }

    func clipped(_ x: Tensor) -> Tensor {
        guard let r = inputRange else { return x }
        return withoutGrad { clamp(x, min: r.lowerBound, max: r.upperBound) }
    }
}
