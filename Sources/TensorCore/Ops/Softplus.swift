import TensorKernels

/// Softplus activations (paper §3, eqs. 2–3; SPEC B1/B2).
///
/// `s(x; β) = log(1 + e^{βx}) / β` and the centered form `s₀(x; β) = (log(1 + e^{βx}) − log 2)/β`,
/// with s₀(0) = 0, s₀ → x/2 as β → 0 and → ReLU as β → ∞. Their second derivative is
/// β·σ(βx)(1 − σ(βx)) ≤ β/4, so β bounds the curvature of the activation.
///
/// Derivatives: ∂s/∂x = σ(βx); ∂s/∂β = (x·σ(βx) − s)/β (the same for both forms).

/// σ(βx) with β a scalar tensor (learnable or constant); a fused kernel.
/// ∂/∂x = g·β·σ(1−σ), ∂/∂β = Σ g·x·σ(1−σ).
public func scaledSigmoid(_ x: Tensor, beta: Tensor) -> Tensor {
    guard beta.count == 1 else { invalidShape("scaledSigmoid", beta.shape, "is not a scalar β") }
    let out = Tensor(uninitializedShape: x.shape)
    sigmoidScaled(x.storage.pointer, beta: beta.storage.pointer[0], out.storage.pointer, count: x.count)
    return Tensor.record(out, op: .scaledSigmoid, inputs: [x, beta]) { c in
        let (x, beta, g, s) = (c.inputs[0], c.inputs[1], c.gradOutput, c.output)
        if !GradMode.isEnabled && !c.needsGrad[1] {
            // Not recorded: β·g·s(1−s) in one fused pass.
            let gx = Tensor(uninitializedShape: x.shape)
            sigmoidSlopeProduct(g.storage.pointer, s.storage.pointer, beta: beta.storage.pointer[0], gx.storage.pointer, count: x.count)
            return [gx, nil]
        }
        let slope = g * s * (1 - s)
        return [c.needsGrad[0] ? slope * beta.reshaped(to: []) : nil,
                c.needsGrad[1] ? (slope * x).sum().reshaped(to: beta.shape) : nil]
    }
}

/// Softplus with a scalar-tensor β (learnable when `beta` requires gradients).
/// - Parameters:
///   - centered: subtract log 2 so that the activation passes through the origin (B2).
public func softplus(_ x: Tensor, beta: Tensor, centered: Bool = false) -> Tensor {
    let b = positiveScalarBeta("softplus", beta)
    let out = Tensor(uninitializedShape: x.shape)
    softplusForward(x.storage.pointer, beta: b, centered: centered, out.storage.pointer, count: x.count)
    return Tensor.record(out, op: centered ? .centeredSoftplus : .softplus, inputs: [x, beta]) { c in
        let (x, beta, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
        if !GradMode.isEnabled {
            let first = softplusFirstOrderGradients(g, x, output: c.output, beta: beta, needX: c.needsGrad[0],
                                                    needBeta: c.needsGrad[1])
            return [first.x, first.beta]
        }
        return softplusRule(g, x, beta: beta, output: c.output, needX: c.needsGrad[0], needBeta: c.needsGrad[1])
    }
}

/// The value of a softplus operation's β: a scalar tensor holding a positive number (otherwise a
/// clear error naming `op`, β's shape or value).
func positiveScalarBeta(_ op: String, _ beta: Tensor) -> Float {
    guard beta.count == 1 else { invalidShape(op, beta.shape, "is not a scalar β") }
    let b = beta.storage.pointer[0]
    guard b > 0 else { fatalError("\(op): β must be positive, got \(b)") }
    return b
}

/// Softplus's first-order (unrecorded) gradients in one fused kernel pass: ∂x = gradScale·g·σ(βx)
/// where `needX` and ∂β = Σ g·(xσ(βx) − y)/β (β's shape) where `needBeta`, y the forward output.
/// `gradScale` is the factor of a sum fused before the activation (``scaledSumSoftplus(_:_:scale:beta:centered:)``).
func softplusFirstOrderGradients(_ g: Tensor, _ x: Tensor, output: Tensor, beta: Tensor, needX: Bool, needBeta: Bool,
                                 gradScale: Float = 1) -> (x: Tensor?, beta: Tensor?) {
    let b = beta.storage.pointer[0]
    let gx = needX ? Tensor(uninitializedShape: x.shape) : nil
    guard needBeta else {
        if let gx { softplusBackward(g.storage.pointer, x.storage.pointer, beta: b, gx.storage.pointer, count: x.count,
                                     gradScale: gradScale) }
        return (gx, nil)
    }
    let total = softplusBackwardWithBeta(g.storage.pointer, x.storage.pointer, output.storage.pointer, beta: b,
                                         gradInput: gx?.storage.pointer, count: x.count, gradScale: gradScale)
    return (gx, Tensor([total / b], shape: beta.shape))
}

/// Softplus's rule in tensor operations (for recorded backward passes): `[∂x, ∂β]` with
/// ∂x = g·σ(βx) and ∂β = Σ g·(x·σ(βx) − y)/β, y the forward output (either form); nil where
/// not needed.
func softplusRule(_ g: Tensor, _ x: Tensor, beta: Tensor, output: Tensor, needX: Bool, needBeta: Bool) -> [Tensor?] {
    let s = scaledSigmoid(x, beta: beta)
    return [needX ? g * s : nil, needBeta ? ((g * (x * s - output)).sum() / beta).reshaped(to: beta.shape) : nil]
}

/// Softplus with a constant β (B1; the "Standard" baseline uses β = 1000).
public func softplus(_ x: Tensor, beta: Float = 1, centered: Bool = false) -> Tensor {
    softplus(x, beta: Tensor(beta), centered: centered)
}
