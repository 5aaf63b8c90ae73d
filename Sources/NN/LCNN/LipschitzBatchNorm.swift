import TensorCore

/// γ-Lipschitz batch normalisation (paper §3.4.2; SPEC B6).
///
/// Batch norm without affine parameters, rescaled so its Lipschitz constant is at most γ:
/// with `s = min_c √(running_var_c + 1e-5)`, `out = BN(x) · s · min(1/s, γ)`. In evaluation
/// BN divides channel c by √(running_var_c + ε) ≤ 1/s, so the gain is `min(1/s, γ) ≤ γ`.
/// γ = exp(log γ) is one learnable scalar per layer (`log_lipschitz`, as in the authors'
/// code), initialised to 10. `s` is read from the running variance before this step's update.
public final class LipschitzBatchNorm: Layer, BatchNormLayer {
    public let logLipschitz: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let numBatchesTracked: Tensor
    public let momentum: Float
    public let epsilon: Float

    public init(features: Int, initialGamma: Float = 10, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(features > 0 && initialGamma > 0, "LipschitzBatchNorm: features and γ must be positive")
        logLipschitz = Tensor(scalarLog(initialGamma)).requiringGrad()
        runningMean = .zeros([features])
        runningVar = .ones([features])
        numBatchesTracked = .zeros([])
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// The current γ.
    public var gamma: Float { scalarExp(logLipschitz.item) }

    /// `s = min_c √(running_var_c + 1e-5)`.
    public var runningScale: Float {
        runningVar.withUnsafeBufferPointer { ($0.min() ?? 1) + 1e-5 }.squareRoot()
    }

    /// The Lipschitz constant in evaluation, `min(1/s, γ)`.
    public var lipschitzConstant: Float { min(1 / runningScale, gamma) }

    public func callAsFunction(_ x: Tensor) -> Tensor { normalization()(x) }

    func normalization() -> BatchNormArguments {
        let s = runningScale
        let isTraining = LearningPhase.isTraining
        if isTraining { numBatchesTracked.withUnsafeMutableBufferPointer { $0[0] += 1 } }
        // The gain s·min(1/s, γ) is one scalar; passed as the per-channel weight of the fused
        // batch norm, it costs no extra pass over the activations.
        let gain = minimum(exp(logLipschitz), Tensor(1 / s)) * s
        return BatchNormArguments(runningMean: runningMean, runningVar: runningVar,
                                  weight: gain.expanded(to: [runningMean.count]), bias: nil,
                                  training: isTraining, momentum: momentum, epsilon: epsilon)
    }

    public func visit(_ v: inout TensorVisitor) {
        v.parameter("log_lipschitz", logLipschitz, noWeightDecay: true)
        v.buffer("running_mean", runningMean)
        v.buffer("running_var", runningVar)
        v.buffer("num_batches_tracked", numBatchesTracked)
    }
}
