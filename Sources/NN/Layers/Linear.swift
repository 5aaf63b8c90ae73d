import TensorCore

/// Fully connected layer `y = x·Wᵀ + b` with `W [out, in]` (PyTorch's layout).
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, generator: inout SeededGenerator) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear: feature counts must be positive")
        weight = Initializer.pytorchDefault([outFeatures, inFeatures], fanIn: inFeatures, generator: &generator).requiringGrad()
        self.bias = bias ? Initializer.pytorchDefault([outFeatures], fanIn: inFeatures, generator: &generator).requiringGrad() : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    public func visit(_ v: inout TensorVisitor) {
        v.parameter("weight", weight)
        if let bias { v.parameter("bias", bias) }
    }
}

/// `x·Wᵀ + b` for `x [N, in]`, `W [out, in]`, `b [out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    guard x.rank == 2, x.shape[1] == weight.shape[1] else {
        shapeMismatch("Linear", x.shape, weight.shape, "disagree: input [N, \(weight.shape[1])] expected for weight")
    }
    let y = matmul(x, weight, transposeB: true)
    return bias.map { y + $0 } ?? y
}
