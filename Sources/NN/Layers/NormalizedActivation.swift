import TensorCore

/// A batch-norm layer that can apply the softplus following it in the same operation
/// (`batchNormSoftplus`: one pass over the activations instead of two, and no stored
/// normalised values).
public protocol SoftplusFusingNormalization: Layer {
    /// `softplus(self(x), beta:, centered:)`, with the layer's bookkeeping (batches tracked) done.
    func normalizedSoftplus(_ x: Tensor, beta: Tensor, centered: Bool) -> Tensor
}

/// An activation that is a softplus with one scalar β.
public protocol SoftplusActivation: Layer {
    /// β and the centering to apply to `x`, recording what the layer's own forward pass would
    /// record about its input (the width the curvature bound reads).
    func softplusArguments(for x: Tensor) -> (beta: Tensor, centered: Bool)
}

/// `activation(norm(x))` (`activation(x)` without a norm), as one fused operation when the norm
/// is a batch norm (either form) and the activation a softplus (either form); the values and
/// every derivative are those of the two layers applied in turn.
public func normalizedActivation(_ norm: (any Layer)?, _ activation: any Layer, _ x: Tensor) -> Tensor {
    guard let norm else { return activation(x) }
    if let fusing = norm as? any SoftplusFusingNormalization, let softplus = activation as? any SoftplusActivation {
        let (beta, centered) = softplus.softplusArguments(for: x)
        return fusing.normalizedSoftplus(x, beta: beta, centered: centered)
    }
    return activation(norm(x))
}
