import TensorKernels

/// `w / ⟨w, m⟩` with `m` a constant of `w`'s shape (no gradient flows to it), as one fused,
/// recorded operation.
///
/// With σ = ⟨w, m⟩ (a scalar) the result is `w/σ`; its backward pass is
/// `∂w = g/σ − (⟨g, w⟩/σ²)·m`. Computed as `w / (w * m).sum()` this takes five full passes
/// over the weight forward and backward (product, sum, divide; divide, product, sum, scale,
/// accumulate); fused it takes two forward (dot product, divide) and two backward (dot product,
/// one linear combination). This is the applied weight of a spectrally normalised layer whose
/// σ̂ is linear in W (σ̂ = ⟨W, M⟩). When the backward pass is itself recorded (higher-order
/// gradients), the rule is written in tensor operations and stays differentiable.
///
/// `innerProduct`, when given, is ⟨w, m⟩ as the caller already knows it (a spectrally normalised
/// layer's power iteration ends with σ̂ = ⟨u, A v⟩ = ⟨W, M⟩ in hand), and the forward pass's dot
/// product over the weight is skipped; it must be that inner product to float accuracy, since the
/// backward rule divides by it.
public func dividedByInnerProduct(_ w: Tensor, with m: Tensor, innerProduct known: Float? = nil) -> Tensor {
    guard w.shape == m.shape else { shapeMismatch("dividedByInnerProduct", w.shape, m.shape, "differ") }
    let count = w.count
    var sigma = known ?? Float(innerProduct(w.storage.pointer, m.storage.pointer, count: count))
    let out = Tensor(uninitializedShape: w.shape)
    withUnsafePointer(to: &sigma) { s in
        applyBinary(.divide, w.storage.pointer, strideA: 1, s, strideB: 0, out.storage.pointer, count: count)
    }
    let mc = m.detached()
    return Tensor.record(out, op: .dividedByInnerProduct, inputs: [w]) { c in
        guard c.needsGrad[0] else { return [nil] }
        let (w, g) = (c.inputs[0], c.gradOutput)
        if !GradMode.isEnabled {
            let gw = innerProduct(g.storage.pointer, w.storage.pointer, count: count)
            let s = Double(sigma)
            let gx = Tensor(uninitializedShape: w.shape)
            linearCombination(Float(1 / s), g.storage.pointer, Float(-gw / (s * s)), mc.storage.pointer,
                              gx.storage.pointer, count: count)
            return [gx]
        }
        return [innerProductNormalizationGradient(g, w: w, m: mc)]
    }
}

/// The rule ∂w = g/σ − (⟨g, w⟩/σ²)·m with σ = ⟨w, m⟩ of `w / ⟨w, m⟩`, in recorded tensor operations
/// (differentiable in g and w; m constant), for backward passes that are themselves recorded.
func innerProductNormalizationGradient(_ g: Tensor, w: Tensor, m: Tensor) -> Tensor {
    let s = (w * m).sum()
    return g / s - m * ((g * w).sum() / (s * s))
}
