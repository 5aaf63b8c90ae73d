import TensorKernels

/// conv(x; W/σ̂) with σ̂ = ⟨u, conv(v; W)⟩ for a constant pair (u, v): the training forward of a
/// spectrally normalised convolution (paper §3.4.1; SPEC B5) as one recorded operation.
///
/// σ̂ is linear in W: σ̂ = ⟨W, M⟩ with M = ∇_W⟨u, conv(v; W)⟩, the weight gradient of the
/// single-image convolution of v for output gradient u. With g = Σₙ ∇_W⟨dyₙ, conv(xₙ; W)⟩ the
/// batch's weight gradient (taken at W/σ̂, where it is the same), the rule for W is
///
///   ∂W = g/σ̂ − (⟨g, W⟩/σ̂²)·M.
///
/// Composed as `conv2d(x, weight: dividedByInnerProduct(W, with: M))` a training step writes M
/// in the forward pass and reads it back beside g in a linear combination: three weight-sized
/// passes besides the convolution that makes M. On a first-order backward pass this operation
/// stores no M. ⟨g, W⟩ is read where it is cheaper: over W, or over the output, as σ̂·⟨dy, y⟩
/// (⟨g, W⟩ = Σₙ⟨dyₙ, conv(xₙ; W)⟩ and conv(x; W) = σ̂·y) — at batch 32 the output of a
/// 512-channel stage of ResNet-18 has a ninth of its weight's elements. Read over the output it is
/// known before g, and ∂W = (1/σ̂)·(g − ⟨dy, y⟩·M) is one weight gradient of the batch with v as one
/// more image, its output gradient −⟨dy, y⟩·u (`conv2dBackwardWeight(_:input:gradOutput:extraImage:scale:gradWeight:)`:
/// on the Winograd layers 4 more tiles in 132 instead of a single-image convolution and a
/// weight-sized pass). Read over W, the operation writes g, then adds the single-image weight
/// gradient of v for the output gradient −(⟨g, W⟩/σ̂²)·u into it with beta 1/σ̂ (the implicit GEMM
/// scales C in its tile stores; `conv2dBackwardWeight`). When the backward pass is
/// recorded (higher-order gradients) the rule is the composition's, in tensor operations (M made
/// once per backward pass).
///
/// `u` `[1, O, OH, OW]` and `v` `[1, C, H, W]` are copied, so a power iteration may update them in
/// place before the backward pass runs. `sigma`, when given, must be ⟨u, conv(v; W)⟩ to float
/// accuracy (a power iteration's last step hands it over); otherwise it is computed. `sigmaGradient`,
/// when given, must be M for this u and v (made ahead of time where W is small and M cheap to keep,
/// ``PowerIterationsAhead``); the backward pass then combines it with g in one pass instead.
public func spectrallyNormalizedConv2d(_ x: Tensor, weight w: Tensor, u: Tensor, v: Tensor, sigma known: Float? = nil,
                                       sigmaGradient m: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    if let m, m.shape != w.shape { shapeMismatch("spectrallyNormalizedConv2d", m.shape, w.shape, "differ (M, weight)") }
    let o = ConvOptions(stride: stride, padding: padding)
    Tensor.checkConv("spectrallyNormalizedConv2d", input: x.shape, weight: w.shape, o)
    let pair = SigmaGradientPair(u: u, v: v, weight: w.shape, options: o)
    let sigma = known ?? pair.sigma(of: w)
    let g = o.geometry(input: x.shape, weight: w.shape)
    let out = Tensor(uninitializedShape: [g.batch, g.outChannels, g.outHeight, g.outWidth])
    // conv(x; W/σ̂) = conv(x; W)/σ̂ and convᵀ(dy; W/σ̂) = convᵀ(dy; W)/σ̂: divide W (a pass that
    // reads W and writes W/σ̂), or scale the output and later the input gradient in place, while
    // they are still in cache — whichever moves fewer floats (the 512-channel stage of ResNet-18
    // at batch 32: 2·262 144 against 2 359 296).
    let scalesActivations = out.count + x.count < w.count
    let applied: Tensor
    if scalesActivations {
        applied = w
        conv2dForward(g, input: x.storage.pointer, weight: w.storage.pointer, output: out.storage.pointer)
        scale(out, by: 1 / sigma)
    } else {
        applied = withoutGrad { w / sigma }
        conv2dForward(g, input: x.storage.pointer, weight: applied.storage.pointer, output: out.storage.pointer)
    }
    return Tensor.record(out, op: .spectrallyNormalizedConv2d, inputs: [x, w]) { c in
        let (x, w, dy) = (c.inputs[0], c.inputs[1], c.gradOutput)
        let kernel = (w.shape[2], w.shape[3])
        if GradMode.isEnabled {
            // Recorded: the composition's rule, differentiable in x, W and dy.
            let m = m ?? pair.sigmaGradient()
            let recordedWeight = dividedByInnerProduct(w, with: m, innerProduct: sigma)
            return [c.needsGrad[0] ? Tensor.conv2dInputGradPrimitive(dy, recordedWeight, inputShape: x.shape, o) : nil,
                    c.needsGrad[1] ? innerProductNormalizationGradient(
                        Tensor.conv2dWeightGradPrimitive(x, dy, kernel: kernel, o), w: w, m: m) : nil]
        }
        var dx: Tensor?
        if c.needsGrad[0] {
            dx = Tensor.conv2dInputGradPrimitive(dy, applied, inputShape: x.shape, o)
            if scalesActivations { scale(dx!, by: 1 / sigma) }
        }
        guard c.needsGrad[1] else { return [dx, nil] }
        let dw = Tensor(uninitializedShape: w.shape)
        let (y, sd) = (c.output, Double(sigma))
        if m == nil && y.count < w.count {
            // ⟨g, W⟩ = σ̂·⟨dy, y⟩ is known before g, so ∂W = (1/σ̂)·(g − ⟨dy, y⟩·M) is one weight
            // gradient: the batch's and v's for the output gradient −⟨dy, y⟩·u, as one more image.
            let dyDotY = innerProduct(dy.storage.pointer, y.storage.pointer, count: y.count)
            pair.weightGradient(g, input: x, gradOutput: dy, plusSigmaGradientTimes: Float(-dyDotY),
                                scale: Float(1 / sd), into: dw)
            return [dx, dw]
        }
        conv2dBackwardWeight(g, input: x.storage.pointer, gradOutput: dy.storage.pointer, gradWeight: dw.storage.pointer)
        let gDotW = y.count < w.count
            ? sd * innerProduct(dy.storage.pointer, y.storage.pointer, count: y.count)
            : innerProduct(dw.storage.pointer, w.storage.pointer, count: w.count)
        let alpha = Float(-gDotW / (sd * sd))
        if let m {
            linearCombination(Float(1 / sd), dw.storage.pointer, alpha, m.storage.pointer, dw.storage.pointer, count: dw.count)
        } else {
            pair.addSigmaGradient(scaledBy: alpha, into: dw, beta: Float(1 / sd))
        }
        return [dx, dw]
    }
}

/// t ← factor·t in place (a tensor this file has just made and no one else has read).
private func scale(_ t: Tensor, by factor: Float) {
    var f = factor
    withUnsafePointer(to: &f) { fp in
        applyBinary(.multiply, t.storage.pointer, strideA: 1, fp, strideB: 0, t.storage.pointer, count: t.count)
    }
}

/// The power-iteration pair (u, v) of a spectrally normalised convolution, copied, and the maps
/// it defines on weights of one shape: σ̂(W) = ⟨u, conv(v; W)⟩ and its gradient M = v ⋆ u.
struct SigmaGradientPair {
    let u: Tensor, v: Tensor
    let kernel: (Int, Int)
    let options: ConvOptions
    let geometry: Conv2dGeometry

    init(u: Tensor, v: Tensor, weight: [Int], options: ConvOptions) {
        Tensor.checkConv("spectrallyNormalizedConv2d (v)", input: v.shape, weight: weight, options)
        let g = options.geometry(input: v.shape, weight: weight)
        guard g.batch == 1, u.shape == [1, g.outChannels, g.outHeight, g.outWidth] else {
            shapeMismatch("spectrallyNormalizedConv2d", u.shape, [1, g.outChannels, g.outHeight, g.outWidth],
                          "differ (u, one output image of conv(v))")
        }
        (self.u, self.v) = (u.copy(), v.copy())
        (kernel, self.options, geometry) = ((weight[2], weight[3]), options, g)
    }

    /// σ̂ = ⟨u, conv(v; W)⟩, unrecorded.
    func sigma(of w: Tensor) -> Float {
        let image = Tensor(uninitializedShape: u.shape)
        conv2dForward(geometry, input: v.storage.pointer, weight: w.storage.pointer, output: image.storage.pointer)
        return Float(innerProduct(u.storage.pointer, image.storage.pointer, count: u.count))
    }

    /// M = ∇_W⟨u, conv(v; W)⟩ (unrecorded, a constant of the graph).
    func sigmaGradient() -> Tensor {
        withoutGrad { Tensor.conv2dWeightGradPrimitive(v, u, kernel: kernel, options) }
    }

    /// `target ← alpha·M + beta·target`, without storing M: the single-image weight gradient for
    /// output gradient alpha·u, accumulated with beta.
    func addSigmaGradient(scaledBy alpha: Float, into target: Tensor, beta: Float) {
        let scaledU = withoutGrad { u * alpha }
        conv2dBackwardWeight(geometry, input: v.storage.pointer, gradOutput: scaledU.storage.pointer,
                             gradWeight: target.storage.pointer, beta: beta)
    }

    /// `target ← scale·(g + coefficient·M)`, g the weight gradient of `batch` (x, dy): v is one more
    /// image of the batch, with output gradient coefficient·u (the kernel's extra image).
    func weightGradient(_ batch: Conv2dGeometry, input x: Tensor, gradOutput dy: Tensor,
                        plusSigmaGradientTimes coefficient: Float, scale: Float, into target: Tensor) {
        let scaledU = withoutGrad { u * coefficient }
        conv2dBackwardWeight(batch, input: x.storage.pointer, gradOutput: dy.storage.pointer,
                             extraImage: WeightGradExtraImage(input: v.storage.pointer, gradOutput: scaledU.storage.pointer),
                             scale: scale, gradWeight: target.storage.pointer)
    }
}
