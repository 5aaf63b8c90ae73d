import TensorKernels

/// 2-D convolution (NCHW, weights `[O, C, KH, KW]`, groups 1) and its adjoints.
///
/// Three linear primitives close under differentiation:
/// y = conv(x, w);  x̄ = convᵀ(ȳ, w) (`conv2dBackwardInput`, which is conv-transpose);
/// w̄ = ∇w(x, ȳ) (`conv2dBackwardWeight`). Because ⟨conv(x,w), y⟩ = ⟨x, convᵀ(y,w)⟩ =
/// ⟨w, ∇w(x,y)⟩, the derivative of each is one of the three again, so conv nets can be
/// differentiated twice (GradReg, CURE, Hessian-vector products).

/// Stride and zero padding of a convolution, per spatial axis.
public struct ConvOptions: Sendable, Hashable {
    public var stride: (h: Int, w: Int) { (strideH, strideW) }
    public var padding: (h: Int, w: Int) { (paddingH, paddingW) }
    let strideH, strideW, paddingH, paddingW: Int

    public init(stride: Int = 1, padding: Int = 0) { self.init(stride: (stride, stride), padding: (padding, padding)) }
    public init(stride: (Int, Int), padding: (Int, Int)) {
        precondition(stride.0 >= 1 && stride.1 >= 1, "conv2d: stride must be at least 1, got \(stride)")
        precondition(padding.0 >= 0 && padding.1 >= 0, "conv2d: padding must be non-negative, got \(padding)")
        (strideH, strideW, paddingH, paddingW) = (stride.0, stride.1, padding.0, padding.1)
    }

    func geometry(input: [Int], weight: [Int]) -> Conv2dGeometry {
        Conv2dGeometry(batch: input[0], inChannels: input[1], inHeight: input[2], inWidth: input[3],
                       outChannels: weight[0], kernelHeight: weight[2], kernelWidth: weight[3],
                       strideHeight: strideH, strideWidth: strideW, paddingHeight: paddingH, paddingWidth: paddingW)
    }
}

extension Tensor {
    static func checkConv(_ op: String, input: [Int], weight: [Int], _ o: ConvOptions) {
        guard input.count == 4 else { invalidShape(op, input, "is not an NCHW batch (rank 4)") }
        guard weight.count == 4 else { invalidShape(op, weight, "is not a [O, C, KH, KW] kernel") }
        guard input[1] == weight[1] else {
            shapeMismatch(op, input, weight, "disagree on input channels (\(input[1]) vs \(weight[1]))")
        }
        guard input[2] + 2 * o.paddingH >= weight[2], input[3] + 2 * o.paddingW >= weight[3] else {
            shapeMismatch(op, input, weight, "leave no output: the kernel is larger than the padded input")
        }
    }

    static func conv2dPrimitive(_ x: Tensor, _ w: Tensor, _ o: ConvOptions) -> Tensor {
        checkConv("conv2d", input: x.shape, weight: w.shape, o)
        let g = o.geometry(input: x.shape, weight: w.shape)
        let out = Tensor(uninitializedShape: [g.batch, g.outChannels, g.outHeight, g.outWidth])
        conv2dForward(g, input: x.storage.pointer, weight: w.storage.pointer, output: out.storage.pointer)
        return record(out, op: .conv2d, inputs: [x, w]) { c in
            let (x, w, gy) = (c.inputs[0], c.inputs[1], c.gradOutput)
            return [c.needsGrad[0] ? conv2dInputGradPrimitive(gy, w, inputShape: x.shape, o) : nil,
                    c.needsGrad[1] ? conv2dWeightGradPrimitive(x, gy, kernel: (w.shape[2], w.shape[3]), o) : nil]
        }
    }

    /// convᵀ(y, w): the adjoint of `conv2d(·, w)` mapping `[N,O,OH,OW]` to `inputShape`.
    static func conv2dInputGradPrimitive(_ y: Tensor, _ w: Tensor, inputShape: [Int], _ o: ConvOptions) -> Tensor {
        checkConv("convTranspose2d", input: inputShape, weight: w.shape, o)
        let g = o.geometry(input: inputShape, weight: w.shape)
        let expected = [g.batch, g.outChannels, g.outHeight, g.outWidth]
        guard y.shape == expected else { shapeMismatch("convTranspose2d", y.shape, expected, "differ (input, expected)") }
        let out = Tensor(uninitializedShape: inputShape)
        conv2dBackwardInput(g, gradOutput: y.storage.pointer, weight: w.storage.pointer, gradInput: out.storage.pointer)
        return record(out, op: .convTranspose2d, inputs: [y, w]) { c in
            let (y, w, gz) = (c.inputs[0], c.inputs[1], c.gradOutput)
            return [c.needsGrad[0] ? conv2dPrimitive(gz, w, o) : nil,
                    c.needsGrad[1] ? conv2dWeightGradPrimitive(gz, y, kernel: (w.shape[2], w.shape[3]), o) : nil]
        }
    }

    /// ∇w(x, y) = Σ over the batch of the correlation of `x` with `y`: the weight gradient
    /// of `conv2d(x, ·)` for output gradient `y`; linear in both.
    static func conv2dWeightGradPrimitive(_ x: Tensor, _ y: Tensor, kernel: (Int, Int), _ o: ConvOptions) -> Tensor {
        guard y.rank == 4 else { invalidShape("conv2dWeightGrad", y.shape, "is not an NCHW batch") }
        let wShape = [y.shape[1], x.shape[1], kernel.0, kernel.1]
        checkConv("conv2dWeightGrad", input: x.shape, weight: wShape, o)
        let g = o.geometry(input: x.shape, weight: wShape)
        let expected = [g.batch, g.outChannels, g.outHeight, g.outWidth]
        guard y.shape == expected else { shapeMismatch("conv2dWeightGrad", y.shape, expected, "differ (gradient, expected)") }
        let out = Tensor(uninitializedShape: wShape)
        conv2dBackwardWeight(g, input: x.storage.pointer, gradOutput: y.storage.pointer, gradWeight: out.storage.pointer)
        return record(out, op: .conv2dWeightGrad, inputs: [x, y]) { c in
            let (x, y, gw) = (c.inputs[0], c.inputs[1], c.gradOutput)
            return [c.needsGrad[0] ? conv2dInputGradPrimitive(y, gw, inputShape: x.shape, o) : nil,
                    c.needsGrad[1] ? conv2dPrimitive(x, gw, o) : nil]
        }
    }
}

/// 2-D cross-correlation (PyTorch's `conv2d`): `x [N,C,H,W]`, `weight [O,C,KH,KW]`, optional
/// `bias [O]`; output `[N, O, ⌊(H+2p−KH)/s⌋+1, ⌊(W+2p−KW)/s⌋+1]`.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    let y = Tensor.conv2dPrimitive(x, weight, ConvOptions(stride: stride, padding: padding))
    guard let bias else { return y }
    guard bias.shape == [weight.shape[0]] else { shapeMismatch("conv2d bias", bias.shape, [weight.shape[0]], "differ (bias, expected)") }
    return y + bias.reshaped(to: [1, bias.count, 1, 1])
}

/// Transposed convolution (PyTorch's `conv_transpose2d`), the adjoint of `conv2d` with the
/// same `weight [Cin, Cout, KH, KW]`, stride and padding: `[N,Cin,H,W] → [N,Cout,H',W']` with
/// `H' = (H−1)s − 2p + KH + outputPadding`.
public func convTranspose2d(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0) -> Tensor {
    guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[0] else {
        shapeMismatch("convTranspose2d", x.shape, weight.shape, "disagree on channels")
    }
    guard outputPadding >= 0 && outputPadding < stride else {
        fatalError("convTranspose2d: outputPadding \(outputPadding) must be in 0..<stride (\(stride))")
    }
    let h = (x.shape[2] - 1) * stride - 2 * padding + weight.shape[2] + outputPadding
    let w = (x.shape[3] - 1) * stride - 2 * padding + weight.shape[3] + outputPadding
    guard h > 0, w > 0 else { invalidShape("convTranspose2d", x.shape, "gives an empty output") }
    return Tensor.conv2dInputGradPrimitive(x, weight, inputShape: [x.shape[0], weight.shape[1], h, w],
                                           ConvOptions(stride: stride, padding: padding))
}

/// The weight gradient of `conv2d` as a differentiable function of input and output gradient.
public func conv2dWeightGradient(input x: Tensor, gradOutput y: Tensor, kernelSize: (Int, Int),
                                 stride: Int = 1, padding: Int = 0) -> Tensor {
    Tensor.conv2dWeightGradPrimitive(x, y, kernel: kernelSize, ConvOptions(stride: stride, padding: padding))
}

/// The adjoint of `conv2d(·, weight, stride, padding)` as a map onto inputs of `inputShape`:
/// ⟨conv2d(x, w), y⟩ = ⟨x, conv2dAdjoint(y, w)⟩. Unlike ``convTranspose2d`` it takes the
/// target shape directly, which spectral normalisation's power iteration needs.
public func conv2dAdjoint(_ y: Tensor, weight: Tensor, inputShape: [Int], stride: Int = 1, padding: Int = 0) -> Tensor {
    Tensor.conv2dInputGradPrimitive(y, weight, inputShape: inputShape, ConvOptions(stride: stride, padding: padding))
}
