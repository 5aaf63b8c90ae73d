import TensorCore

/// Weight initialisation, following PyTorch's defaults so that models start from the same
/// distribution as the reference code.
public enum Initializer {
    /// U(−1/√fanIn, 1/√fanIn): PyTorch's default for `Linear` and `Conv2d` weights
    /// (Kaiming-uniform with a = √5) and biases.
    public static func pytorchDefault(_ shape: [Int], fanIn: Int, generator: inout SeededGenerator) -> Tensor {
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
    }

    /// N(0, 2/fanOut): Kaiming-normal in fan-out mode for ReLU-like nets (torchvision ResNets).
    public static func kaimingNormalFanOut(_ shape: [Int], fanOut: Int, generator: inout SeededGenerator) -> Tensor {
        Tensor.normal(shape, std: (2 / Float(max(fanOut, 1))).squareRoot(), generator: &generator)
    }
}
