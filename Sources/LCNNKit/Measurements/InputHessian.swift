import NN
import TensorCore

/// A batch loss as the measurements see it: a function from a batch of inputs `x` (first axis
/// = samples) to the scalar `Σᵢ ℓ(xᵢ)`, where each term depends on its own sample only (a model
/// in evaluation mode). Its gradient w.r.t. the batch then holds every sample's `∇ₓℓ(xᵢ)` and
/// its Hessian is block-diagonal, so one Hessian-vector product of the sum gives every
/// sample's own `∇²ₓℓ(xᵢ)·vᵢ` at once.
public typealias BatchLoss = (Tensor) -> Tensor

/// The summed cross-entropy `Σᵢ ℓ(xᵢ, yᵢ)` of a classifier (SPEC §4: the per-sample loss of
/// G1–G6). Call it inside `inference {}` for a model (eval mode).
public func crossEntropyLoss(_ classifier: @escaping Classifier, labels: [Int]) -> BatchLoss {
    { x in crossEntropy(logits: classifier(x), labels: labels, reduction: .sum) }
}

/// The input gradient of a batch loss, recorded once, and exact Hessian-vector products by
/// double backprop that reuse that recording (PyTorch's `create_graph=True` + retained graph).
///
/// Construction runs the forward pass and the first backward pass with `createGraph: true`:
/// `g = ∇ₓ Σᵢℓ(xᵢ)` is itself a recorded tensor. Each ``hvp(_:)`` then only differentiates
/// `⟨g, v⟩` w.r.t. `x`: `H v = ∇ₓ⟨∇ₓℓ, v⟩` (v held constant), walking the recorded graph again
/// without recomputing the forward or first backward pass. TensorCore never frees recorded
/// graphs, so any number of products may be taken from one instance.
public struct InputHessian {
    /// The leaf input (a detached copy of the batch that requires gradients).
    public let input: Tensor
    /// `Σᵢ ℓ(xᵢ)`, recorded.
    public let loss: Tensor
    /// `∇ₓ Σᵢ ℓ(xᵢ)` (sample i's row is `∇ₓℓ(xᵢ)`), recorded (differentiable again).
    public let gradient: Tensor
    /// Whether the gradient depends on `x` at all (false when ℓ is affine in x: H = 0).
    public let isCurved: Bool

    /// Records `loss(x)` and its input gradient with `createGraph: true`.
    public init(at x: Tensor, loss: BatchLoss) {
        let input = x.detached().requiringGrad()
        self.input = input
        let value = withGrad { loss(input) }
        self.loss = value
        if value.requiresGrad {
            gradient = withGrad { gradients(of: value, wrt: [input], createGraph: true)[0] }
        } else {
            gradient = Tensor.zeros(x.shape)
        }
        isCurved = gradient.requiresGrad
    }

    /// Convenience for a classifier and labels (summed cross-entropy); the classifier is called
    /// as given, so wrap models in `inference {}` or use ``init(model:at:labels:)``.
    public init(classifier: @escaping Classifier, at x: Tensor, labels: [Int]) {
        self.init(at: x, loss: crossEntropyLoss(classifier, labels: labels))
    }

    /// Convenience for a model in evaluation mode (summed cross-entropy).
    public init(model: any Layer, at x: Tensor, labels: [Int]) {
        self = inference { InputHessian(classifier: { model($0) }, at: x, labels: labels) }
    }

    /// The gradient without its recording.
    public var gradientValue: Tensor { gradient.detached() }

    /// `H v` for every sample at once: `∇ₓ⟨g, v⟩` with `v` constant (same shape as the batch).
    public func hvp(_ v: Tensor) -> Tensor {
        precondition(v.shape == input.shape, "InputHessian.hvp: v has shape \(v.shape), input \(input.shape)")
        guard isCurved else { return Tensor.zeros(input.shape) }
        let inner = withGrad { (gradient * v.detached()).sum() }
        return withGrad { gradients(of: inner, wrt: [input], createGraph: false)[0] }
    }

    /// Number of samples (first axis).
    public var batchSize: Int { input.shape[0] }
    /// Number of input features of one sample.
    public var sampleSize: Int { input.count / Swift.max(1, input.shape[0]) }
}
