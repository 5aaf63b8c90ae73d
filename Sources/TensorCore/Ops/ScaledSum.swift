import TensorKernels

/// `scale · (a + b)` for operands of one shape, as one recorded operation.
///
/// The LCNN residual block averages its branches, act(½·(F(x) + S(x))), so that two 1-Lipschitz
/// branches give a 1-Lipschitz block (paper §3.4; SPEC §3). Written `(a + b) * 0.5` this takes two
/// passes over the activations forward (sum, product) and allocates both results; fused it is one
/// `linearCombination` pass. Backward: ∂a = ∂b = scale·g, one tensor computed once and handed to
/// both operands (in tensor operations, so the rule stays differentiable for higher orders).
public func scaledSum(_ a: Tensor, _ b: Tensor, scale: Float) -> Tensor {
    guard a.shape == b.shape else { shapeMismatch("scaledSum", a.shape, b.shape, "differ") }
    let out = Tensor(uninitializedShape: a.shape)
    linearCombination(scale, a.storage.pointer, scale, b.storage.pointer, out.storage.pointer, count: out.count)
    return recordScaledSum(out, a, b, scale: scale)
}

/// `out`, which holds scale·(a + b), recorded as that function of a and b (scaledSum's rule).
func recordScaledSum(_ out: Tensor, _ a: Tensor, _ b: Tensor, scale: Float) -> Tensor {
    Tensor.record(out, op: .scaledSum, inputs: [a, b]) { c in
        guard c.needsGrad[0] || c.needsGrad[1] else { return [nil, nil] }
        let g = scale == 1 ? c.gradOutput : c.gradOutput * scale
        return [c.needsGrad[0] ? g : nil, c.needsGrad[1] ? g : nil]
    }
}
