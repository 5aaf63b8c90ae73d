import TensorCore

/// 2-D convolution layer over NCHW batches, weight `[out, in, k, k]`.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, generator: inout SeededGenerator) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0, "Conv2d: sizes must be positive")
        let fanIn = inChannels * kernelSize * kernelSize
        weight = Initializer.pytorchDefault([outChannels, inChannels, kernelSize, kernelSize], fanIn: fanIn,
                                            generator: &generator).requiringGrad()
        self.bias = bias ? Initializer.pytorchDefault([outChannels], fanIn: fanIn, generator: &generator).requiringGrad() : nil
        self.stride = stride
        self.padding = padding
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }
    public var kernelSize: Int { weight.shape[2] }

    /// Shape of the last input (the operator norm depends on the image size).
    public private(set) var lastInputShape: [Int]?

    public func callAsFunction(_ x: Tensor) -> Tensor {
        lastInputShape = x.shape
        return conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    public func visit(_ v: inout TensorVisitor) {
        v.parameter("weight", weight)
        if let bias { v.parameter("bias", bias) }
    }
}
