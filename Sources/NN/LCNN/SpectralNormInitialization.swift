import TensorCore

/// The scale of a spectrally normalised layer's raw weight at creation.
///
/// The layer applies W/σ̂(W), which does not change when W is scaled, so the scale of the raw
/// weight is free — but it sets the step size. The gradient of a scale-invariant function is
/// orthogonal to W and shrinks as 1/‖W‖, so one SGD step changes W's direction by about
/// `lr·‖∇‖/‖W‖ ∝ lr/σ̂(W)²`. With the ordinary fan-in initialisation the wide layers start
/// far below σ̂ = 1: SmallCNN's 9216→128 layer starts near σ̂ ≈ 0.06, so at the paper's
/// learning rate 0.1 its direction moved by an effective rate of ≈ 28 per step and the LCNN
/// SmallCNN stalled (27 % training accuracy after an epoch on 8,000 Fashion-MNIST images at
/// seed 0; 69 % at learning rate 0.01). Dividing W by its σ̂ at creation leaves the function
/// unchanged and makes the effective step of every layer the nominal one, as for an
/// unnormalised layer of unit gain. (Only after the creation-time power iteration: with none,
/// σ̂ = uᵀWv of random u, v is no estimate of the norm.)
enum SpectralNormInitialization {
    /// Divides `weight` in place by `sigma` (the σ̂ that the creation-time power iteration found).
    static func rescaleToUnitNorm(_ weight: Tensor, sigma: Float) {
        guard sigma.isFinite, sigma > 0 else { return }
        let scale = 1 / sigma
        weight.withUnsafeMutableBufferPointer { w in
            for i in w.indices { w[i] *= scale }
        }
    }
}
