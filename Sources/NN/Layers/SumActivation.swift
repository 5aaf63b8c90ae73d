import TensorCore

/// `activation(scale·(a + b))`, the end of a residual block (``BasicBlock``: scale ½ in the LCNN
/// ResNets, paper §3.4, 1 in the Standard ones), as ``scaledSumSoftplus(_:_:scale:beta:centered:)``
/// (one fused operation unless `KernelSettings.fuseSumSoftplus` is off) when the activation is a
/// ``Softplus`` or ``CenteredSoftplus`` and the operands have one shape; otherwise the sum
/// (``scaledSum(_:_:scale:)`` or `+`) and then the activation layer. The activation layer stays
/// what it is (its β, its `lastWidth` bookkeeping).
public func sumThenActivation(_ activation: any Layer, _ a: Tensor, _ b: Tensor, scale: Float) -> Tensor {
    guard a.shape == b.shape, let act = activation as? any SoftplusLayer else {
        return activation(scale == 1 ? a + b : scaledSum(a, b, scale: scale))
    }
    let arguments = act.softplusArguments(for: a)
    return scaledSumSoftplus(a, b, scale: scale, beta: arguments.beta, centered: arguments.centered)
}
