import NN
import TensorCore

/// A function from a batch of inputs to logits, as attacks and measurements see a model
/// (usually `{ model($0) }` in evaluation mode).
public typealias Classifier = (Tensor) -> Tensor

/// Per-sample input gradients of the summed cross-entropy, `∇ₓℓ(xᵢ, yᵢ)` for each sample: with
/// the model in evaluation mode samples do not interact, so the gradient of Σᵢℓᵢ w.r.t. the
/// batch holds each sample's own gradient.
public func inputGradient(of classifier: Classifier, at x: Tensor, labels: [Int], createGraph: Bool = false) -> (loss: Tensor, gradient: Tensor) {
    let input = x.detached().requiringGrad()
    let loss = withGrad { crossEntropy(logits: classifier(input), labels: labels, reduction: .sum) }
    guard loss.requiresGrad else { return (loss, Tensor.zeros(x.shape)) }
    return (loss, gradients(of: loss, wrt: [input], createGraph: createGraph)[0])
}

/// The classifier view of a model: logits of a batch, evaluated in inference mode.
public func inferenceClassifier(_ model: any Layer) -> Classifier {
    { x in inference { model(x) } }
}
