import TensorCore

/// Batch normalisation over `[N, C]` (1-d) or `[N, C, H, W]` (2-d) with affine weight and
/// bias and running statistics (momentum 0.1, ε = 1e-5, PyTorch's defaults).
public final class BatchNorm: Layer, BatchNormLayer {
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// Batches seen in training (PyTorch's `num_batches_tracked`, kept for checkpoints).
    public let numBatchesTracked: Tensor
    public let momentum: Float
    public let epsilon: Float

    public init(features: Int, affine: Bool = true, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(features > 0, "BatchNorm: features must be positive")
        weight = affine ? Tensor.ones([features]).requiringGrad() : nil
        bias = affine ? Tensor.zeros([features]).requiringGrad() : nil
        runningMean = .zeros([features])
        runningVar = .ones([features])
        numBatchesTracked = .zeros([])
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var features: Int { runningMean.count }

    public func callAsFunction(_ x: Tensor) -> Tensor { normalization()(x) }

    func normalization() -> BatchNormArguments {
        let isTraining = LearningPhase.isTraining
        if isTraining { numBatchesTracked.withUnsafeMutableBufferPointer { $0[0] += 1 } }
        return BatchNormArguments(runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                  training: isTraining, momentum: momentum, epsilon: epsilon)
    }

    public func visit(_ v: inout TensorVisitor) {
        if let weight { v.parameter("weight", weight) }
        if let bias { v.parameter("bias", bias) }
        v.buffer("running_mean", runningMean)
        v.buffer("running_var", runningVar)
        v.buffer("num_batches_tracked", numBatchesTracked)
    }
}
