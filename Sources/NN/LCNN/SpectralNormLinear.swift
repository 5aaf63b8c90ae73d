import TensorCore

/// Spectrally normalised fully connected layer (paper §3.4.1; SPEC B4; Miyato et al. 2018).
///
/// The layer uses `W/σ̂` where σ̂ ≈ ‖W‖₂ comes from power iteration on the left and right
/// singular vectors `u`, `v` (buffers): `v ← Wᵀu/‖Wᵀu‖`, `u ← Wv/‖Wv‖`, `σ̂ = uᵀWv`. One
/// iteration runs, unrecorded, at each training forward; none in evaluation; 15 at creation.
/// σ̂ is recorded as a function of W with u and v held constant, so gradients flow through
/// both W and σ̂, as in PyTorch's `parametrizations.spectral_norm`, whose state-dict names
/// this layer uses (`parametrizations.weight.original`, `parametrizations.weight.0._u`/`_v`).
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
                initialIterations: Int = 15, generator: inout SeededGenerator) {
        let plain = Linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: bias, generator: &generator)
        weight = plain.weight
        self.bias = plain.bias
        u = PowerIteration.normalized(Tensor.normal([outFeatures], generator: &generator))
        v = PowerIteration.normalized(Tensor.normal([inFeatures], generator: &generator))
        self.powerIterations = powerIterations
        iterate(initialIterations)
    }

    /// Runs `count` power-iteration steps on the current weight, updating `u` and `v` in place.
    public func iterate(_ count: Int) {
        let w = weight.detached()
        PowerIteration.iterate(count, u: u, v: v,
                               apply: { matmul(w, $0.reshaped(to: [-1, 1])).reshaped(to: [w.shape[0]]) },
                               adjoint: { matmul($0.reshaped(to: [1, -1]), w).reshaped(to: [w.shape[1]]) })
    }

    /// σ̂ = uᵀWv, recorded as a function of W.
    public func spectralNorm() -> Tensor {
        matmul(matmul(u.detached().reshaped(to: [1, -1]), weight), v.detached().reshaped(to: [-1, 1])).reshaped(to: [])
    }

    /// The weight actually applied, W/σ̂.
    public func normalizedWeight() -> Tensor {
        if LearningPhase.isTraining { iterate(powerIterations) }
        return weight / spectralNorm()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: normalizedWeight(), bias: bias) }

    public func visit(_ vis: inout TensorVisitor) {
        if let bias { vis.parameter("bias", bias) }
        vis.parameter("parametrizations.weight.original", weight)
        vis.buffer("parametrizations.weight.0._u", u)
        vis.buffer("parametrizations.weight.0._v", v)
    }
}
