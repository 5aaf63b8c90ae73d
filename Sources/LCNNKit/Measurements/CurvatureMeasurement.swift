import TensorCore
import NN

/// SPEC G1–G5 for one batch, per sample, w.r.t. the input, on the per-sample loss ℓ
/// (cross-entropy for a classifier, evaluation mode):
/// - G1 `‖∇ₓℓ(x)‖₂`;
/// - G2 `‖∇²ₓℓ(x)‖₂` by ``HessianPowerIteration`` (exact HVPs by double backprop);
/// - G3 `C(x) = ‖∇²ₓℓ(x)‖₂ / (‖∇ₓℓ(x)‖₂ + ε)`, ε = 1e-6;
/// - G4 (optional) `‖∇²ₓℓ(x)‖_F` by ``HutchinsonFrobenius``;
/// - G5 (optional) gradient-robustness ratios by ``GradientRobustness``.
///
/// The forward pass and the first (recorded) backward pass run once per batch; every
/// Hessian-vector product reuses them (``InputHessian``). Samples are independent, so each
/// sample's values do not depend on the rest of its batch.
public struct CurvatureMeasurement: Sendable, Codable, Equatable {
    public var powerIteration: HessianPowerIteration
    /// nil skips G4.
    public var hutchinson: HutchinsonFrobenius?
    /// nil skips G5.
    public var robustness: GradientRobustness?
    /// ε of G3 (reference 1e-6).
    public var epsilon: Float

    public init(powerIteration: HessianPowerIteration = HessianPowerIteration(), hutchinson: HutchinsonFrobenius? = nil,
                robustness: GradientRobustness? = nil, epsilon: Float = 1e-6) {
        self.powerIteration = powerIteration
        self.hutchinson = hutchinson
        self.robustness = robustness
        self.epsilon = epsilon
    }

    /// Per-sample values of one batch.
    public struct Batch: Sendable {
        /// G1.
        public var gradientNorm: [Float]
        /// G2 (`|σ|`), with the signed eigenvalue and convergence flags in ``power``.
        public var spectralNorm: [Float] { power.spectralNorm }
        /// G3.
        public var curvature: [Float]
        /// G4, when requested.
        public var frobeniusNorm: [Float]?
        /// G5, when requested: per noise level, `draws × batch` ratios.
        public var robustnessRatios: [[Float]]?
        public var power: HessianPowerIteration.Result
        /// The per-sample loss `ℓ(xᵢ)` is not separated; the summed loss of the batch.
        public var summedLoss: Float
    }

    /// Measures one batch of a general batch loss (samples must be independent).
    public func measure(at x: Tensor, loss: @escaping BatchLoss) -> Batch {
        let hessian = InputHessian(at: x, loss: loss)
        let gradNorm = PerSample.norm(hessian.gradient)
        let power = powerIteration.run(hessian)
        let curvature = zip(power.spectralNorm, gradNorm).map { $0 / ($1 + epsilon) }
        let frobenius = hutchinson.map { $0.run(hessian).frobeniusNorm }
        let ratios = robustness.map { r -> [[Float]] in
            var generator = SeededGenerator(seed: r.seed)
            return r.ratios(at: x, gradient: hessian.gradientValue, loss: loss, generator: &generator)
        }
        return Batch(gradientNorm: gradNorm, curvature: curvature, frobeniusNorm: frobenius, robustnessRatios: ratios,
                     power: power, summedLoss: hessian.loss.item)
    }

    /// Measures one batch of a classifier's cross-entropy (call inside `inference {}` for models).
    public func measure(classifier: @escaping Classifier, at x: Tensor, labels: [Int]) -> Batch {
        measure(at: x, loss: crossEntropyLoss(classifier, labels: labels))
    }

    /// Measures one batch of a model in evaluation mode.
    public func measure(model: any Layer, at x: Tensor, labels: [Int]) -> Batch {
        inference { measure(classifier: { model($0) }, at: x, labels: labels) }
    }
}
