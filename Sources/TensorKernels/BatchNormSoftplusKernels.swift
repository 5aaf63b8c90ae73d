/// Training-mode batch norm fused with the softplus that follows it (paper §3: softplus and
/// centered softplus, eq. 2; γ-Lipschitz batch norm, SPEC B6), over tensors viewed as
/// `[outer, channels, inner]` like the other batch-norm kernels.
///
/// Per channel c, with the batch statistics μ_c and ρ_c = 1/√(σ²_c + ε), the affine weight w_c
/// (1 without one; for γ-Lipschitz BN the scalar gain s·min(1/s, γ)) and bias b_c (0 without one):
///
///     y = w_c·(x − μ_c)·ρ_c + b_c,   z = s(y; β) = log(1 + e^{βy})/β   [− log 2/β when centered]
///
/// The forward pass reads x once after the statistics pass and writes z; y is never stored. The
/// backward pass recomputes y and σ(βy) from x instead of reading them, once: the gradient ĝ it
/// forms is kept in ∂x's buffer for the second pass.

/// `z = softplus_β((x − mean_c)·scale_c + shift_c)` per channel (centered: minus log 2/β), in one
/// pass over x; `scale` = ρ·w and `shift` = b as ``channelAffine(_:outer:channels:inner:scale:mean:shift:_:)``
/// takes them, so y is the value that kernel writes, bit for bit, and z the value
/// ``softplusForward(_:beta:centered:_:count:)`` computes from it.
public func batchNormSoftplusForward(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                                     scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                     beta: Float, centered: Bool, _ z: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("batch_norm_softplus")
    defer { span?.close() }
    if centered {
        channelAffine(x, outer: outer, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, z,
                      then: OpSoftplusCentered(beta: beta, invBeta: 1 / beta))
    } else {
        channelAffine(x, outer: outer, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, z,
                      then: OpSoftplus(beta: beta, invBeta: 1 / beta))
    }
}

/// The first-order backward pass of ``batchNormSoftplusForward(_:outer:channels:inner:scale:mean:shift:beta:centered:_:)``
/// for the upstream gradient g of z.
///
/// With ĝ = g·σ(βy) (the gradient reaching y) and x̂ = (x − μ)·ρ, per channel:
/// `∂b = Σ ĝ`, `∂w = Σ ĝ·x̂`, `∂x = w·ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`, and over all elements
/// `∂β = Σ g·(y·σ(βy) − z)/β` (the same for the centered form, whose z is its own output).
/// One reduction pass over (g, x[, z]) per channel recomputes y and σ(βy), accumulates
/// Σ ĝ, Σ ĝ·(x − μ) and Σ g·(y·σ(βy) − z) and writes ĝ into ∂x's buffer; a second pass turns
/// it into ∂x in place (forming σ(βy) again cost more than storing and reloading ĝ).
///
/// - Parameters:
///   - output: the forward output z, needed only for ∂β; nil when β needs no gradient.
///   - weight, bias: per channel, nil for w = 1 / b = 0.
///   - gradInput, gradWeight, gradBias: nil when not needed.
/// - Returns: Σ g·(y·σ(βy) − z) (∂β times β), or 0 when `output` is nil.
public func batchNormSoftplusBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, output: UnsafePointer<Float>?,
                                      outer: Int, channels: Int, inner: Int,
                                      mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, beta: Float,
                                      gradInput: UnsafeMutablePointer<Float>?, gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?) -> Float {
    let span = KernelProfile.open("batch_norm_softplus_backward")
    defer { span?.close() }
    var betaTerms = [Float](repeating: 0, count: output == nil ? 0 : channels)
    betaTerms.withUnsafeMutableBufferPointer { terms in
        batchNormBackward(g, x, side: output, outer: outer, channels: channels, inner: inner, mean: mean,
                          inverseStd: inverseStd, weight: weight, gradInput: gradInput, gradWeight: gradWeight,
                          gradBias: gradBias, extra: output == nil ? nil : terms.baseAddress) { c in
            // y = x·a + (b − μ·a), a = ρ·w: the forward pass's y, bit for bit.
            let a = inverseStd[c] * (weight?[c] ?? 1)
            return SoftplusOutputGradient(scale: Vec16(repeating: a), shift: Vec16(repeating: (bias?[c] ?? 0) - mean[c] * a),
                                          beta: Vec16(repeating: beta))
        }
    }
    return Float(betaTerms.reduce(0.0) { $0 + Double($1) })
}

/// ĝ = g·σ(βy) with y = x·scale + shift recomputed; the extra sum is g·(y·σ(βy) − z), z the
/// forward output (the `side` input).
struct SoftplusOutputGradient: OutputGradient {
    let scale: Vec16, shift: Vec16, beta: Vec16
    /// σ(βy) costs an exponential and a division per lane: stored once, not formed twice.
    static var storesGradient: Bool { true }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16) -> Vec16 { g * vsigmoidImpl((x * scale + shift) * beta) }

    @_transparent func gradient(_ g: Vec16, _ x: Vec16, _ z: Vec16, extra: inout Vec16) -> Vec16 {
        let y = x * scale + shift
        let s = vsigmoidImpl(y * beta)
        extra = extra.addingProduct(g, y * s - z)
        return g * s
    }
}
