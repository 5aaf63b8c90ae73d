import TensorCore

/// `activation(norm(x))` for a batch-norm layer directly followed by an activation layer, as the
/// fused ``batchNormSoftplus(_:runningMean:runningVar:weight:bias:beta:centered:training:momentum:epsilon:)``
/// when training a ``BatchNorm`` or ``LipschitzBatchNorm`` before a ``Softplus`` or
/// ``CenteredSoftplus``; otherwise the two layers one after the other.
///
/// The layers stay what they are (their parameters, buffers, state-dict names and the
/// curvature bound's view of them): the fused path does what their `callAsFunction`s do — counts
/// the batch, reads the γ-Lipschitz gain's s from the running variance before this step's update,
/// updates the running statistics, records the activation's `lastWidth` — and gives the same
/// values and gradients. `KernelSettings.fuseBatchNormSoftplus = false` turns the fusion off for
/// a scope. The SmallCNN and the ResNets call this where BN feeds the activation; ``Sequential``
/// calls it for each such adjacent pair (the VGG and the MLP).
public func batchNormThenActivation(_ norm: any Layer, _ activation: any Layer, _ x: Tensor) -> Tensor {
    guard LearningPhase.isTraining, let bn = norm as? any BatchNormLayer, let act = activation as? any SoftplusLayer else {
        return activation(norm(x))
    }
    let n = bn.normalization(), a = act.softplusArguments(for: x)
    return batchNormSoftplus(x, runningMean: n.runningMean, runningVar: n.runningVar, weight: n.weight, bias: n.bias,
                             beta: a.beta, centered: a.centered, training: n.training, momentum: n.momentum,
                             epsilon: n.epsilon)
}

/// The arguments of one batch-norm layer's ``batchNorm(_:runningMean:runningVar:weight:bias:training:momentum:epsilon:)`` call.
struct BatchNormArguments {
    let runningMean: Tensor, runningVar: Tensor
    let weight: Tensor?, bias: Tensor?
    let training: Bool
    let momentum: Float, epsilon: Float

    /// The layer's output: batch norm of x with these arguments.
    func callAsFunction(_ x: Tensor) -> Tensor {
        batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, training: training,
                  momentum: momentum, epsilon: epsilon)
    }
}

/// A batch-norm layer that can hand its normalisation to a fused operation.
protocol BatchNormLayer: Layer {
    /// The arguments of this forward pass's batch norm in the current phase, with the layer's
    /// own bookkeeping for the pass done (a training batch counted). `callAsFunction(x)` is
    /// `normalization()(x)`.
    func normalization() -> BatchNormArguments
}

/// The β and form of a softplus layer's forward pass.
struct SoftplusArguments {
    let beta: Tensor
    let centered: Bool
}

/// A softplus layer that can hand its activation to a fused operation.
protocol SoftplusLayer: Layer {
    /// The arguments of this forward pass on x, with the layer's bookkeeping done (`lastWidth`).
    /// `callAsFunction(x)` is `softplus(x, beta:centered:)` with them.
    func softplusArguments(for x: Tensor) -> SoftplusArguments
}

/// Softplus of x with a layer's arguments.
func softplus(_ x: Tensor, _ a: SoftplusArguments) -> Tensor { softplus(x, beta: a.beta, centered: a.centered) }
