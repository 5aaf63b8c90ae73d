import TensorCore

/// Spectrally normalised fully connected layer (paper §3.4.1; SPEC B4; Miyato et al. 2018).
///
/// The layer uses `W/σ̂` where σ̂ ≈ ‖W‖₂ comes from power iteration on the left and right
/// singular vectors `u`, `v` (buffers): `v ← Wᵀu/‖Wᵀu‖`, `u ← Wv/‖Wv‖`, `σ̂ = uᵀWv`. One
/// iteration runs, unrecorded, at each training forward; none in evaluation; 15 at creation.
/// σ̂ is recorded as a function of W with u and v held constant, so gradients flow through
/// both W and σ̂, as in PyTorch's `parametrizations.spectral_norm`, whose state-dict names
/// this layer uses (`parametrizations.weight.original`, `parametrizations.weight.0._u`/`_v`).
/// At creation the raw weight is divided by its σ̂ (`unitInitialNorm`, the default), which
/// leaves the layer's function unchanged and gives SGD its nominal step size
/// (``SpectralNormInitialization``).
public final class SpectralNormLinear: Layer {
    /// The raw weight `[out, in]` (trainable).
    public let weight: Tensor
    public let bias: Tensor?
    /// Left singular vector estimate `[out]`.
    public let u: Tensor
    /// Right singular vector estimate `[in]`.
    public let v: Tensor
    public let powerIterations: Int

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, powerIterations: Int = 1,
                initialIterations: Int = 15, unitInitialNorm: Bool = true, generator: inout SeededGenerator) {
        let plain = Linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: bias, generator: &generator)
        weight = plain.weight
        self.bias = plain.bias
        u = PowerIteration.normalized(Tensor.normal([outFeatures], generator: &generator))
        v = PowerIteration.normalized(Tensor.normal([inFeatures], generator: &generator))
        self.powerIterations = powerIterations
        iterate(initialIterations)
        if unitInitialNorm, initialIterations > 0 {
            SpectralNormInitialization.rescaleToUnitNorm(weight, sigma: withoutGrad { spectralNorm() }.item)
        }
    }

    /// Runs `count` power-iteration steps on the current weight, updating `u` and `v` in place
    /// (the matrix path of ``PowerIteration``: the raw-buffer kernel, unrecorded), and returns
    /// σ̂ = uᵀWv for the updated pair (nil when `count` is 0).
    @discardableResult
    public func iterate(_ count: Int) -> Float? { PowerIteration.iterate(count, matrix: weight, u: u, v: v) }

    /// σ̂ = uᵀWv, recorded as a function of W (``spectralNormSigma(_:u:v:)``).
    public func spectralNorm() -> Tensor { spectralNormSigma(weight, u: u, v: v) }

    /// The weight actually applied, W/σ̂, after one power-iteration step in training. It is one
    /// fused operation: σ̂ = uᵀWv = ⟨W, u vᵀ⟩ (the σ̂ of ``spectralNorm()``, summed in another
    /// order), so `dividedByInnerProduct(W, u vᵀ)` gives W/σ̂ with the gradient through σ̂
    /// included (∂W = g/σ̂ − (⟨g, W⟩/σ̂²)·u vᵀ), in two passes over W each way instead of a
    /// division, the σ̂ operation and the sum of their gradients (MLP2D LCNN ÷ Standard went from
    /// 1.15–1.24 to 1.06–1.10, BENCHMARKS.md). u vᵀ is a fresh tensor, so later in-place power
    /// iterations cannot change a pending backward. In training the power iteration returns σ̂
    /// with the new u and v, so the forward pass takes no inner product over W.
    public func normalizedWeight() -> Tensor {
        let sigma = LearningPhase.isTraining ? iterate(powerIterations) : nil
        return dividedByInnerProduct(weight, with: withoutGrad { outerProduct(u, v) }, innerProduct: sigma)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: normalizedWeight(), bias: bias) }

    public func visit(_ vis: inout TensorVisitor) {
        if let bias { vis.parameter("bias", bias) }
        vis.parameter("parametrizations.weight.original", weight)
        vis.buffer("parametrizations.weight.0._u", u)
        vis.buffer("parametrizations.weight.0._v", v)
    }
}
