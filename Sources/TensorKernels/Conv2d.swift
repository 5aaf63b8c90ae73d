// 2-D convolution (NCHW, OIHW weights, groups = 1, no bias) as implicit GEMMs.
//
// Notation: P = OH·OW output pixels per image, R = C·KH·KW. For an image n the (never
// materialised) column matrix is
//   col[(c·KH + kh)·KW + kw, oh·OW + ow] = x[n, c, oh·sh − ph + kh, ow·sw − pw + kw]
// (zero where the input index falls in the padding), so that
//   forward:          y[n] (O×P) = W (O×R) · col(x[n]) (R×P)
//   backward-input:   dx[n] = col2im(Wᵀ · dy[n])             (col2im = adjoint of im2col)
//   backward-weight:  dW = Σₙ dy[n] (O×P) · col(x[n])ᵀ (P×R)
//
// Forward: the input is copied once into a zero-padded, phase-split buffer
//   X[n, c, a, b, i, j] = x[n, c, a + sh·i − ph, b + sw·j − pw]   (a < sh, b < sw),
// in which col[(c, kh, kw), (oh, ow)] = X[n, c, kh mod sh, kw mod sw, oh + ⌊kh/sh⌋, ow + ⌊kw/sw⌋]:
// every row of col is a fixed offset into X and consecutive ow are consecutive floats, so the
// packed B panels of the GEMM are gathered straight from X (Conv2dImplicitGEMM.swift).
// Backward-input is computed per output phase (α, β) = ((ih + ph) mod sh, (iw + pw) mod sw):
//   dx[n, c, sh·u + α − ph, sw·v + β − pw] = Σ_{o, t, s} w[o, c, α + sh·t, β + sw·s] · dy[n, o, u − t, v − s],
// a stride-1 convolution of the zero-padded dy with the flipped, transposed sub-kernel, through the
// same implicit GEMM (one phase when the stride is 1). Backward-weight contracts over the pixels
// with both operands gathered and transposed on the fly (Conv2dWeightGrad.swift).
// Every call forks at most once; workers split the GEMM columns (or K / R for the weight gradient).


/// Shape of a 2-D convolution: input [N, C, H, W], weight [O, C, KH, KW], output [N, O, OH, OW]
/// with OH = ⌊(H + 2·ph − KH) / sh⌋ + 1 and OW = ⌊(W + 2·pw − KW) / sw⌋ + 1.
public struct Conv2dGeometry: Sendable, Hashable {
    public var batch: Int
    public var inChannels: Int
    public var inHeight: Int
    public var inWidth: Int
    public var outChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var paddingHeight: Int
    public var paddingWidth: Int

    /// Memberwise initializer; strides default to 1 and paddings to 0.
    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                paddingHeight: Int = 0, paddingWidth: Int = 0) {
        self.batch = batch
        self.inChannels = inChannels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.paddingHeight = paddingHeight
        self.paddingWidth = paddingWidth
    }

    /// OH = ⌊(H + 2·ph − KH) / sh⌋ + 1.
    public var outHeight: Int { (inHeight + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
    /// OW = ⌊(W + 2·pw − KW) / sw⌋ + 1.
    public var outWidth: Int { (inWidth + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }
    /// 2·N·O·OH·OW·C·KH·KW: the multiply-adds of the direct algorithm, counted as FLOPs for the
    /// forward pass and each of the two backward passes whichever algorithm runs.
    public var directFlops: Double {
        2 * Double(batch * outChannels) * Double(outHeight * outWidth) * Double(inChannels * kernelHeight * kernelWidth)
    }
}

/// Convolution forward pass (cross-correlation, as in PyTorch):
///
///   y[n, o, oh, ow] = Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw],
///
/// with out-of-range input positions read as 0. `input` is [N, C, H, W], `weight` [O, C, KH, KW];
/// `output` [N, O, OH, OW] is overwritten (never read). Runs the algorithm
/// ``Conv2dDispatch/forwardAlgorithm(for:)`` picks, on every kernel thread.
public func conv2dForward(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          output: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open(g.batch == 1 ? "conv2d_forward_single" : "conv2d_forward", flops: g.directFlops)
    defer { span?.close() }
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW, O = g.outChannels
    let R = g.inChannels * g.kernelHeight * g.kernelWidth
    let N = g.batch
    if N <= 0 || OH <= 0 || OW <= 0 || O <= 0 { return }
    if R <= 0 {
        output.update(repeating: 0, count: N * O * P)
        return
    }
    conv2dForward(g, input: input, weight: weight, output: output, algorithm: Conv2dDispatch.forwardAlgorithm(for: g))
}

/// `conv2dForward` on a geometry with work to do, by `algorithm` instead of the dispatch table's
/// choice (tests run the implicit and column GEMMs on the same geometries; Winograd only where
/// `Conv2dWinograd.applies`).
func conv2dForward(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                   output: UnsafeMutablePointer<Float>, algorithm: Conv2dAlgorithm) {
    switch algorithm {
    case .winograd: conv2dForwardWinograd(g, input: input, weight: weight, output: output)
    case .winogradLargeTiles: conv2dForwardWinograd(g, input: input, weight: weight, output: output, tile: 4)
    case .implicitGEMM: conv2dForwardImplicitGEMM(g, input: input, weight: weight, output: output)
    case .columns: conv2dForwardViaColumns(g, input: input, weight: weight, output: output)
    case .smallChannels: preconditionFailure("no forward pass on \(algorithm)")
    }
}

/// Gradient of `conv2dForward` with respect to its input (a transposed convolution):
///
///   dx[n, c, ih, iw] = Σ_{o, kh, kw, oh, ow : oh·sh − ph + kh = ih, ow·sw − pw + kw = iw}
///                        w[o, c, kh, kw] · dy[n, o, oh, ow],
///
/// i.e. dx = col2im(Wᵀ · dy), the exact adjoint: ⟨conv(x), dy⟩ = ⟨x, dx⟩. `gradOutput` is
/// [N, O, OH, OW]; `gradInput` [N, C, H, W] is overwritten (input pixels no window touches get 0).
/// Runs the algorithm ``Conv2dDispatch/backwardInputAlgorithm(for:)`` picks.
public func conv2dBackwardInput(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open(g.batch == 1 ? "conv2d_backward_input_single" : "conv2d_backward_input", flops: g.directFlops)
    defer { span?.close() }
    let C = g.inChannels, H = g.inHeight, W = g.inWidth
    let OH = g.outHeight, OW = g.outWidth, O = g.outChannels
    let N = g.batch
    let imgIn = C * H * W
    if N <= 0 || imgIn <= 0 { return }
    if OH <= 0 || OW <= 0 || O <= 0 {
        gradInput.update(repeating: 0, count: N * imgIn)
        return
    }
    conv2dBackwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput,
                        algorithm: Conv2dDispatch.backwardInputAlgorithm(for: g))
}

/// `conv2dBackwardInput` on a geometry with work to do, by `algorithm` instead of the dispatch
/// table's choice (tests run the implicit phase GEMM and the column GEMM on the same geometries;
/// Winograd and the small-channel kernel only where their rules allow).
func conv2dBackwardInput(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>, algorithm: Conv2dAlgorithm) {
    switch algorithm {
    case .winograd: conv2dBackwardInputWinograd(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
    case .winogradLargeTiles:
        conv2dBackwardInputWinograd(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput, tile: 4)
    case .columns: conv2dBackwardInputViaColumns(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
    case .smallChannels, .implicitGEMM:
        conv2dBackwardInputPhases(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput, algorithm: algorithm)
    }
}

/// Gradient of `conv2dForward` with respect to its weight, summed over the batch:
///
///   dW[o, c, kh, kw] = Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw],
///
/// i.e. dW = Σₙ dy[n] · col(x[n])ᵀ, so that ⟨conv(x; W), dy⟩ = ⟨W, dW⟩. `gradWeight`
/// [O, C, KH, KW] becomes dW + beta·gradWeight: overwritten (never read) with the default beta 0.
/// Runs the algorithm ``Conv2dDispatch/weightGradAlgorithm(for:)`` picks; the implicit GEMM applies
/// beta in its tile stores, the other algorithms write dW to scratch and combine it in one pass.
public func conv2dBackwardWeight(_ g: Conv2dGeometry, input: UnsafePointer<Float>,
                                 gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                 beta: Float = 0) {
    let span = KernelProfile.open(g.batch == 1 ? "conv2d_backward_weight_single" : "conv2d_backward_weight", flops: g.directFlops)
    defer { span?.close() }
    let OH = g.outHeight, OW = g.outWidth, O = g.outChannels
    let R = g.inChannels * g.kernelHeight * g.kernelWidth
    let N = g.batch
    if O <= 0 || R <= 0 { return }
    if N <= 0 || OH <= 0 || OW <= 0 {
        scaleMatrix(m: 1, n: O * R, beta: beta, c: gradWeight, ldc: O * R)
        return
    }
    let algorithm = Conv2dDispatch.weightGradAlgorithm(for: g)
    if beta != 0 && algorithm != .implicitGEMM {
        let scratch = ScratchBuffer(O * R)
        defer { scratch.free() }
        conv2dBackwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: scratch.p, algorithm: algorithm)
        linearCombination(1, scratch.p, beta, gradWeight, gradWeight, count: O * R)
        return
    }
    conv2dBackwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight, beta: beta,
                         algorithm: algorithm)
}

/// `conv2dBackwardWeight` on a geometry with work to do, by `algorithm`; beta must be 0 except on
/// the implicit GEMM.
func conv2dBackwardWeight(_ g: Conv2dGeometry, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                          gradWeight: UnsafeMutablePointer<Float>, beta: Float = 0, algorithm: Conv2dAlgorithm) {
    precondition(beta == 0 || algorithm == .implicitGEMM, "conv2dBackwardWeight: beta on \(algorithm)")
    switch algorithm {
    case .winograd: conv2dBackwardWeightWinograd(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight)
    case .implicitGEMM:
        conv2dBackwardWeightImplicitGEMM(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight, beta: beta)
    case .columns: conv2dBackwardWeightViaColumns(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight)
    case .winogradLargeTiles:
        conv2dBackwardWeightWinograd(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight, tile: 4)
    case .smallChannels: preconditionFailure("no weight gradient on \(algorithm)")
    }
}
