import TensorKernels

/// softplus_β(scale·(a + b)) (centered or not; Ops/Softplus.swift) for operands of one shape, as one
/// recorded operation: the end of a residual block, act(½·(F(x) + S(x))) in the LCNN ResNets
/// (paper §3.4; SPEC §3) and act(F(x) + S(x)) in the Standard ones.
///
/// Composed as `softplus(scaledSum(a, b, scale:))` a first-order step makes three passes over the
/// activations forward (the sum writes z, the softplus reads it and writes y) and, for scale ≠ 1,
/// four backward (∂z = g·σ(βz), then ∂a = ∂b = scale·∂z). Fused, the forward reads a and b once and
/// writes z and y (`scaledSumSoftplusForward`), and the softplus backward kernel writes
/// scale·g·σ(βz) at once (`gradScale`), handed to both operands; ∂β = Σ g·(zσ(βz) − y)/β as softplus's.
///
/// z is recorded as scaledSum's function of a and b, and a recorded backward pass (higher-order
/// gradients) applies softplus's rule to it in tensor operations, so every order differentiates
/// through the same values the composition would. With `KernelSettings.fuseSumSoftplus` off the
/// two operations run one after the other (`a + b` at scale 1, else `scaledSum`).
public func scaledSumSoftplus(_ a: Tensor, _ b: Tensor, scale: Float, beta: Tensor, centered: Bool) -> Tensor {
    guard a.shape == b.shape else { shapeMismatch("scaledSumSoftplus", a.shape, b.shape, "differ") }
    guard KernelSettings.current.fuseSumSoftplus else {
        return softplus(scale == 1 ? a + b : scaledSum(a, b, scale: scale), beta: beta, centered: centered)
    }
    let betaValue = positiveScalarBeta("scaledSumSoftplus", beta)
    let sum = Tensor(uninitializedShape: a.shape), out = Tensor(uninitializedShape: a.shape)
    scaledSumSoftplusForward(a.storage.pointer, b.storage.pointer, scale: scale, beta: betaValue, centered: centered,
                             sum: sum.storage.pointer, out.storage.pointer, count: out.count)
    let z = recordScaledSum(sum, a, b, scale: scale)
    return Tensor.record(out, op: .scaledSumSoftplus, inputs: [a, b, beta]) { c in
        let (g, beta) = (c.gradOutput, c.inputs[2])
        let needSum = c.needsGrad[0] || c.needsGrad[1]
        if !GradMode.isEnabled {
            // scale·g·σ(βz), one tensor for both operands (and ∂β) in one pass of the softplus kernels.
            let first = softplusFirstOrderGradients(g, z, output: c.output, beta: beta, needX: needSum,
                                                    needBeta: c.needsGrad[2], gradScale: scale)
            return [c.needsGrad[0] ? first.x : nil, c.needsGrad[1] ? first.x : nil, first.beta]
        }
        let rule = softplusRule(g, z, beta: beta, output: c.output, needX: needSum, needBeta: c.needsGrad[2])
        let gz = rule[0].map { scale == 1 ? $0 : $0 * scale }
        return [c.needsGrad[0] ? gz : nil, c.needsGrad[1] ? gz : nil, rule[1]]
    }
}
