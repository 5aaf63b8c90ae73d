/// Training-mode batch norm fused with the softplus that follows it (paper §3: softplus and
/// centered softplus, eq. 2; γ-Lipschitz batch norm, SPEC B6), over tensors viewed as
/// `[outer, channels, inner]` like the other batch-norm kernels — optionally with a residual
/// added between them, as at the end of a ResNet block (`act(s·(BN(F(x)) + S(x)))`, s = 1 for
/// the Standard block, ½ for the LCNN one; SPEC §3).
///
/// Per channel c, with the batch statistics μ_c and ρ_c = 1/√(σ²_c + ε), the affine weight w_c
/// (1 without one; for γ-Lipschitz BN the scalar gain s·min(1/s, γ)) and bias b_c (0 without one):
///
///     t = w_c·(x − μ_c)·ρ_c + b_c,   y = t  or  y = s·t + s·r,
///     z = s(y; β) = log(1 + e^{βy})/β   [− log 2/β when centered]
///
/// The forward pass reads x (and r) once after the statistics pass and writes z; neither t nor
/// y is stored. The backward pass recomputes y and σ(βy) from x (and r) instead of reading them,
/// once: the gradient ĝ reaching t that it forms is kept — in ∂x's buffer for the second pass,
/// or, with a residual, in ∂r's, since ∂r = ĝ.

/// `z = softplus_β(y)` per channel (centered: minus log 2/β), in one pass over x (and r), with
/// `y = (x − mean_c)·scale_c + shift_c` or, with a residual r scaled by s, `s·(that) + s·r`;
/// `scale` = ρ·w and `shift` = b as ``channelAffine(_:outer:channels:inner:scale:mean:shift:_:)``
/// takes them, so y is the value that kernel (then `+` for s = 1, `linearCombination(s, ·, s, r)`
/// otherwise) writes, bit for bit, and z the value ``softplusForward(_:beta:centered:_:count:)``
/// computes from it.
public func batchNormSoftplusForward(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                                     scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                     residual: UnsafePointer<Float>? = nil, residualScale: Float = 1,
                                     beta: Float, centered: Bool, _ z: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open(residual == nil ? "batch_norm_softplus" : "batch_norm_residual_softplus")
    defer { span?.close() }
    let r = residual.map { ScaledResidual(values: $0, scale: residualScale) }
    if centered {
        channelAffine(x, outer: outer, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, residual: r,
                      z, then: OpSoftplusCentered(beta: beta, invBeta: 1 / beta))
    } else {
        channelAffine(x, outer: outer, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, residual: r,
                      z, then: OpSoftplus(beta: beta, invBeta: 1 / beta))
    }
}

/// The first-order backward pass of ``batchNormSoftplusForward(_:outer:channels:inner:scale:mean:shift:residual:residualScale:beta:centered:_:)``
/// for the upstream gradient g of z.
///
/// With ĝ = s·g·σ(βy) the gradient reaching t (s = 1 without a residual) and x̂ = (x − μ)·ρ, per
/// channel: `∂b = Σ ĝ`, `∂w = Σ ĝ·x̂`, `∂x = w·ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`, `∂r = ĝ`, and
/// over all elements `∂β = Σ g·(y·σ(βy) − z)/β` (the same for the centered form, whose z is its
/// own output). One reduction pass over (g, x[, z][, r]) per channel recomputes y and σ(βy),
/// accumulates Σ ĝ, Σ ĝ·(x − μ) and Σ g·(y·σ(βy) − z) and writes ĝ into ∂x's buffer — into
/// `gradResidual` with a residual; a second pass turns it into ∂x (forming σ(βy) again cost more
/// than storing and reloading ĝ).
///
/// - Parameters:
///   - output: the forward output z, needed only for ∂β; nil when β needs no gradient.
///   - weight, bias: per channel, nil for w = 1 / b = 0.
///   - residual, residualScale: r and s as the forward pass took them; nil without a residual.
///   - gradInput, gradWeight, gradBias: nil when not needed.
///   - gradResidual: ∂r, required with a residual (it holds ĝ for the second pass).
/// - Returns: Σ g·(y·σ(βy) − z) (∂β times β), or 0 when `output` is nil.
public func batchNormSoftplusBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, output: UnsafePointer<Float>?,
                                      outer: Int, channels: Int, inner: Int,
                                      mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                      residual: UnsafePointer<Float>? = nil, residualScale: Float = 1, beta: Float,
                                      gradInput: UnsafeMutablePointer<Float>?, gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?,
                                      gradResidual: UnsafeMutablePointer<Float>? = nil) -> Float {
    precondition((residual == nil) == (gradResidual == nil), "batchNormSoftplusBackward: a residual needs its gradient's buffer")
    let span = KernelProfile.open(residual == nil ? "batch_norm_softplus_backward" : "batch_norm_residual_softplus_backward")
    defer { span?.close() }
    var betaTerms = [Float](repeating: 0, count: output == nil ? 0 : channels)
    betaTerms.withUnsafeMutableBufferPointer { terms in
        let extra = output == nil ? nil : terms.baseAddress
        // y = x·a + (b − μ·a), a = ρ·w: the forward pass's affine value, bit for bit.
        func affine(_ c: Int) -> (scale: Vec16, shift: Vec16) {
            let a = inverseStd[c] * (weight?[c] ?? 1)
            return (Vec16(repeating: a), Vec16(repeating: (bias?[c] ?? 0) - mean[c] * a))
        }
        let vb = Vec16(repeating: beta)
        if let residual {
            let r = ScaledResidual(values: residual, scale: residualScale)
            batchNormBackward(g, x, sides: BackwardSides(first: output, second: residual), outer: outer, channels: channels,
                              inner: inner, mean: mean, inverseStd: inverseStd, weight: weight, gradInput: gradInput,
                              gradWeight: gradWeight, gradBias: gradBias, gradientStore: gradResidual, extra: extra) { c in
                let (scale, shift) = affine(c)
                return ResidualSoftplusOutputGradient(scale: scale, shift: shift, residual: r, beta: vb)
            }
        } else {
            batchNormBackward(g, x, sides: BackwardSides(first: output), outer: outer, channels: channels, inner: inner,
                              mean: mean, inverseStd: inverseStd, weight: weight, gradInput: gradInput,
                              gradWeight: gradWeight, gradBias: gradBias, extra: extra) { c in
                let (scale, shift) = affine(c)
                return SoftplusOutputGradient(scale: scale, shift: shift, beta: vb)
            }
        }
    }
    return Float(betaTerms.reduce(0.0) { $0 + Double($1) })
}

/// ĝ = g·σ(βy) with y = x·scale + shift recomputed; the extra sum is g·(y·σ(βy) − z), z the
/// forward output (the first side input).
struct SoftplusOutputGradient: OutputGradient {
    let scale: Vec16, shift: Vec16, beta: Vec16
    /// σ(βy) costs an exponential and a division per lane: stored once, not formed twice.
    static var storesGradient: Bool { true }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16) -> Vec16 { g * vsigmoidImpl((x * scale + shift) * beta) }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16, _ z: Vec16, _ second: Vec16, extra: inout Vec16) -> Vec16 {
        let y = x * scale + shift
        let s = vsigmoidImpl(y * beta)
        extra = extra.addingProduct(g, y * s - z)
        return g * s
    }
}

/// ĝ = s·g·σ(βy) with y = s·(x·scale + shift) + s·r recomputed from x and the residual r (the
/// second side input); the extra sum is g·(y·σ(βy) − z), z the forward output (the first).
struct ResidualSoftplusOutputGradient: OutputGradient {
    let scale: Vec16, shift: Vec16, residual: ScaledResidual, beta: Vec16
    /// Always stored: ĝ is also ∂r.
    static var storesGradient: Bool { true }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16) -> Vec16 {
        preconditionFailure("ResidualSoftplusOutputGradient: ĝ needs the residual; it is stored by the first pass")
    }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16, _ z: Vec16, _ r: Vec16, extra: inout Vec16) -> Vec16 {
        let y = residual.sum(x * scale + shift, r)
        let s = vsigmoidImpl(y * beta)
        extra = extra.addingProduct(g, y * s - z)
        return g * s * Vec16(repeating: residual.scale)
    }
}
