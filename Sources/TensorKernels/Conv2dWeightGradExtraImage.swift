// The weight gradient of a batch with one more image held elsewhere, scaled: the backward pass of
// a spectrally normalised convolution (paper §3.4.1; TensorCore's SpectrallyNormalizedConvolution.swift)
// adds σ̂'s gradient, the single-image weight gradient of the power iteration's v for an output
// gradient along u, to the batch's weight gradient. Run as a separate convolution that term reads
// and writes a weight-sized array once more (9.4 MB per 512-channel layer of ResNet-18) and runs a
// single-image convolution on its own; as one more image of the batch it only deepens the
// Winograd GEMMs by that image's tiles (4 of 132 on the 4×4 stage at batch 32).

/// One image outside the batch's arrays: its input `[1, C, H, W]` and output gradient `[1, O, OH, OW]`.
public struct WeightGradExtraImage: @unchecked Sendable {
    public let input: UnsafePointer<Float>
    public let gradOutput: UnsafePointer<Float>

    public init(input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>) {
        self.input = input
        self.gradOutput = gradOutput
    }
}

/// `gradWeight ← scale · (Σₙ dWₙ + dW_e)`: the weight gradient of `g`'s batch (`input`
/// [N, C, H, W], `gradOutput` [N, O, OH, OW], N = g.batch ≥ 0) and of one more image `extraImage`,
/// times `scale` (`conv2dBackwardWeight` gives each dWₙ). `gradWeight` is overwritten.
///
/// Where the batch of N + 1 images takes a Winograd weight gradient, the extra image is the last
/// image of its transforms and `scale` multiplies the summed transformed products: one pass, the
/// values of the concatenated batch times `scale` (bit for bit at scale 1). Elsewhere the batch's
/// gradient is written first and the extra image's, for `scale·dy_e`, added with beta `scale`.
public func conv2dBackwardWeight(_ g: Conv2dGeometry, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                 extraImage: WeightGradExtraImage, scale: Float,
                                 gradWeight: UnsafeMutablePointer<Float>) {
    var augmented = g
    augmented.batch += 1
    let weightCount = g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth
    if weightCount <= 0 { return }
    if g.outHeight > 0 && g.outWidth > 0 {
        let algorithm = Conv2dDispatch.weightGradAlgorithm(for: augmented)
        if algorithm == .winograd || algorithm == .winogradLargeTiles {
            let span = KernelProfile.open("conv2d_backward_weight", flops: augmented.directFlops)
            defer { span?.close() }
            conv2dBackwardWeightWinograd(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight,
                                         tile: algorithm == .winograd ? 2 : 4, extraImage: extraImage, scale: scale)
            return
        }
    }
    conv2dBackwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight)
    var single = g
    single.batch = 1
    let outputCount = g.outChannels * max(0, g.outHeight) * max(0, g.outWidth)
    let scaled = ScratchBuffer(max(1, outputCount))
    defer { scaled.free() }
    var factor = scale
    applyBinary(.multiply, extraImage.gradOutput, strideA: 1, &factor, strideB: 0, scaled.p, count: outputCount)
    conv2dBackwardWeight(single, input: extraImage.input, gradOutput: scaled.p, gradWeight: gradWeight, beta: scale)
}
