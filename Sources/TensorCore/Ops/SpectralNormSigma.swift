import TensorKernels

/// The outer product u vᵀ `[m, n]` of vectors u `[m]` and v `[n]` (recorded as a broadcast
/// product): ∂(uᵀWv)/∂W.
public func outerProduct(_ u: Tensor, _ v: Tensor) -> Tensor {
    u.reshaped(to: [u.count, 1]) * v.reshaped(to: [1, v.count])
}

/// σ̂ = uᵀWv of a matrix `weight` `[rows, cols]` as one recorded primitive of the weight
/// (``Op/spectralNormSigma``), with `u` `[rows]` and `v` `[cols]` held constant — the spectral
/// norm estimate of ``PowerIteration``, differentiable in W as in PyTorch's
/// `parametrizations.spectral_norm`.
///
/// Forward: the `bilinearForm` kernel (one pass over W, Double sum over rows). Rule:
/// ∂σ̂/∂W = u vᵀ, so ∂W = g·u vᵀ in tensor operations. σ̂ is linear in W, so only the
/// gradOutput path carries second-order terms, and the rule keeps it recorded. u and v are
/// copied when recorded, so later in-place power iterations cannot change a pending backward.
public func spectralNormSigma(_ weight: Tensor, u: Tensor, v: Tensor) -> Tensor {
    precondition(weight.rank == 2 && u.shape == [weight.shape[0]] && v.shape == [weight.shape[1]],
                 "spectralNormSigma: u \(u.shape) and v \(v.shape) do not match the matrix \(weight.shape)")
    let (rows, cols) = (weight.shape[0], weight.shape[1])
    let sigma = weight.withUnsafeBufferPointer { w in
        u.withUnsafeBufferPointer { ub in
            v.withUnsafeBufferPointer { vb in bilinearForm(weight: w, rows: rows, cols: cols, u: ub, v: vb) }
        }
    }
    let result = Tensor(sigma)
    guard weight.requiresGrad, GradMode.isEnabled else { return result }
    let (uc, vc) = (u.copy(), v.copy())
    return Tensor.record(result, op: .spectralNormSigma, inputs: [weight]) { c in
        guard c.needsGrad[0] else { return [nil] }
        return [c.gradOutput * outerProduct(uc, vc)]
    }
}
