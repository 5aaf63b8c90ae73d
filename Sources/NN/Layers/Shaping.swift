import TensorCore

/// Layers without parameters: pooling, flattening, dropout.

/// Max pooling with a square window (stride defaults to the window).
public final class MaxPool2d: Layer {
    public let kernelSize: Int, stride: Int, padding: Int
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        (self.kernelSize, self.stride, self.padding) = (kernelSize, stride ?? kernelSize, padding)
    }
    /// Shape of the last input (the curvature bound needs the output width).
    public private(set) var lastInputShape: [Int]?
    public func callAsFunction(_ x: Tensor) -> Tensor {
        lastInputShape = x.shape
        return x.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Average pooling with a square window (stride defaults to the window).
public final class AvgPool2d: Layer {
    public let kernelSize: Int, stride: Int, padding: Int
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        (self.kernelSize, self.stride, self.padding) = (kernelSize, stride ?? kernelSize, padding)
    }
    /// Shape of the last input (the operator norm depends on the image size).
    public private(set) var lastInputShape: [Int]?
    public func callAsFunction(_ x: Tensor) -> Tensor {
        lastInputShape = x.shape
        return x.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Adaptive average pooling to 1×1: `[N, C, H, W] → [N, C, 1, 1]`.
public final class AdaptiveAvgPool2d: Layer {
    public init() {}
    /// Shape of the last input (the operator norm is 1/√(H·W)).
    public private(set) var lastInputShape: [Int]?
    public func callAsFunction(_ x: Tensor) -> Tensor {
        lastInputShape = x.shape
        return x.adaptiveAvgPool2dTo1x1()
    }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Flattens every axis after the batch axis: `[N, …] → [N, ∏…]`.
public final class Flatten: Layer {
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened(startAxis: 1) }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Inverted dropout with its own seeded generator, which gives one draw per training call: the
/// key of the counter-based mask (``dropout(_:probability:training:generator:)``). The identity
/// in evaluation.
public final class Dropout: Layer {
    public let probability: Float
    private var generator: SeededGenerator
    public init(probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "Dropout: probability must be in [0, 1)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        dropout(x, probability: probability, training: LearningPhase.isTraining, generator: &generator)
    }
    /// Re-seeds the mask stream (used when resuming a run).
    public func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Layers applied in order; children are named `0`, `1`, … as in `nn.Sequential`. A batch-norm
/// layer and the layer after it run as ``batchNormThenActivation(_:_:_:)`` (fused with a
/// following softplus when training; the same values as one after the other).
public final class Sequential: Layer {
    public let layers: [any Layer]
    public init(_ layers: [any Layer]) { self.layers = layers }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x, i = layers.startIndex
        while i < layers.endIndex {
            if i + 1 < layers.endIndex, layers[i] is any BatchNormLayer {
                y = batchNormThenActivation(layers[i], layers[i + 1], y)
                i += 2
            } else {
                y = layers[i](y)
                i += 1
            }
        }
        return y
    }
    public func visit(_ v: inout TensorVisitor) { v.children(layers) }
}
