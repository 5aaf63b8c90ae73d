import TensorCore

/// Convolution normalised by the spectral norm of the true convolution operator
/// ("real" spectral normalisation; paper §3.4.1; SPEC B5; Ryu et al. 2019).
///
/// The convolution is a linear map on images of the layer's input size; its operator norm is
/// found by power iteration with the convolution and its adjoint at that size and stride:
/// `v ← convᵀ(u)/‖convᵀ(u)‖`, `u ← conv(v)/‖conv(v)‖`, `σ̂ = ⟨u, conv(v)⟩`, where `u` has the
/// shape of one output image `[1, O, OH, OW]` and `v` of one input image `[1, C, H, W]`.
/// One iteration per training forward, none in evaluation, 15 at creation. The layer applies
/// `conv(x; W/σ̂)`, with σ̂ recorded as a function of W (u, v constant).
/// At creation the raw weight is divided by its σ̂ (`unitInitialNorm`, the default), which
/// leaves the layer's function unchanged and gives SGD its nominal step size
/// (``SpectralNormInitialization``).
public final class SpectralNormConv2d: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    /// The spatial input size `(H, W)` the operator norm is computed for.
    public let inputSize: (height: Int, width: Int)
    public let u: Tensor
    public let v: Tensor
    public let powerIterations: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, inputSize: (height: Int, width: Int), powerIterations: Int = 1,
                initialIterations: Int = 15, unitInitialNorm: Bool = true, generator: inout SeededGenerator) {
        let plain = Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                           stride: stride, padding: padding, bias: bias, generator: &generator)
        weight = plain.weight
        self.bias = plain.bias
        self.stride = stride
        self.padding = padding
        self.inputSize = inputSize
        let outH = (inputSize.height + 2 * padding - kernelSize) / stride + 1
        let outW = (inputSize.width + 2 * padding - kernelSize) / stride + 1
        precondition(outH > 0 && outW > 0, "SpectralNormConv2d: input \(inputSize) is too small for kernel \(kernelSize)")
        u = PowerIteration.normalized(Tensor.normal([1, outChannels, outH, outW], generator: &generator))
        v = PowerIteration.normalized(Tensor.normal([1, inChannels, inputSize.height, inputSize.width], generator: &generator))
        self.powerIterations = powerIterations
        iterate(initialIterations)
        if unitInitialNorm, initialIterations > 0 {
            SpectralNormInitialization.rescaleToUnitNorm(weight, sigma: withoutGrad { spectralNorm() }.item)
        }
    }

    /// Runs `count` power-iteration steps, updating `u` and `v` in place, and returns σ̂ = ⟨u, conv(v)⟩
    /// for the updated pair (nil when `count` is 0): the last step's conv(v) gives it for free.
    @discardableResult
    public func iterate(_ count: Int) -> Float? {
        let (w, shape, stride, padding) = (weight.detached(), v.shape, stride, padding)
        return PowerIteration.iterate(count, u: u, v: v,
                                      apply: { conv2d($0, weight: w, stride: stride, padding: padding) },
                                      adjoint: { conv2dAdjoint($0, weight: w, inputShape: shape, stride: stride, padding: padding) })
    }

    /// σ̂ = ⟨u, conv(v; W)⟩, recorded as a function of W.
    ///
    /// The convolution is linear in W, so σ̂ = ⟨W, M⟩ with M = ∇_W⟨u, conv(v; W)⟩, the weight
    /// gradient of the convolution of v for output gradient u. With u and v constant, M is one
    /// unrecorded single-image weight-gradient convolution, and σ̂ and its gradient M cost one
    /// pass over W instead of a recorded convolution and its backward pass.
    public func spectralNorm() -> Tensor {
        (weight * sigmaGradient()).sum()
    }

    /// M = ∇_W⟨u, conv(v; W)⟩ for the current u and v (unrecorded), so that σ̂ = ⟨W, M⟩.
    ///
    /// M depends on u and v only, not on W, so it is kept while they hold the same values: in
    /// evaluation (attacks, curvature, certificates call the model many times with u and v
    /// fixed) it is computed once; a checkpoint loaded into u and v, or training, changes them
    /// and so recomputes it. Comparing the values costs |u| + |v| reads, against |W|·OH·OW
    /// multiply-adds for the convolution. A training forward does not use this cache: its fused
    /// operation (``spectrallyNormalizedConv2d(_:weight:u:v:sigma:sigmaGradient:stride:padding:)``)
    /// adds M into the weight gradient on the backward pass without storing it, or takes the M a
    /// step run ahead made for a small weight (`iterateAhead`).
    private func sigmaGradient() -> Tensor {
        let (us, vs) = (u.scalars, v.scalars)
        if let cached = sigmaGradientCache, cached.u == us, cached.v == vs {
            return Tensor(shape: weight.shape, storage: cached.m)
        }
        let m = sigmaGradientNow()
        sigmaGradientCache = (us, vs, m.storage)
        return m
    }

    /// M for the current u and v, computed now (unrecorded, uncached).
    private func sigmaGradientNow() -> Tensor {
        withoutGrad {
            conv2dWeightGradient(input: v.detached(), gradOutput: u.detached(),
                                 kernelSize: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding)
        }
    }

    /// M with the values of u and v it was computed from (derived values, not state of the layer:
    /// nothing here is saved or visited, and no tensor is held). M is kept as the storage the
    /// convolution wrote — no operation writes into it (its users read it as a constant), so
    /// handing it out again costs no copy of a weight-sized array per training step.
    private var sigmaGradientCache: (u: [Float], v: [Float], m: TensorStorage)?

    /// A power-iteration step already run for the next training forward: its σ̂, and M where the
    /// weight is small enough to keep it (``PowerIterationsAhead``, which sets and clears this
    /// around a model's forward pass).
    var ahead: (sigma: Float?, sigmaGradient: Tensor?)?

    /// Runs this layer's power-iteration steps for the next training forward (on the calling
    /// thread's kernel settings) and keeps the result; M too when W has at most
    /// ``PowerIterationsAhead/keptSigmaGradientMaxElements`` elements.
    func iterateAhead() {
        let sigma = iterate(powerIterations)
        let keep = weight.count <= PowerIterationsAhead.keptSigmaGradientMaxElements
        ahead = (sigma, keep ? sigmaGradientNow() : nil)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard x.rank == 4, x.shape[2] == inputSize.height, x.shape[3] == inputSize.width else {
            invalidShape("SpectralNormConv2d", x.shape,
                         "does not match the input size \(inputSize.height)×\(inputSize.width) the layer was built for")
        }
        if LearningPhase.isTraining {
            // The power iteration's last step gives σ̂ = ⟨u, conv(v)⟩ = ⟨W, M⟩ for the new u and v;
            // the fused operation applies conv(x; W/σ̂) and, on a first-order backward pass, folds
            // σ̂'s gradient M into the weight gradient without storing it.
            let (sigma, m) = ahead ?? (iterate(powerIterations), nil)
            ahead = nil
            let y = spectrallyNormalizedConv2d(x, weight: weight, u: u, v: v, sigma: sigma, sigmaGradient: m,
                                               stride: stride, padding: padding)
            return bias.map { y + $0.reshaped(to: [1, $0.count, 1, 1]) } ?? y
        }
        // In evaluation u and v stay fixed, so M is kept (sigmaGradient()) and σ̂ = ⟨W, M⟩.
        // conv(x; W/σ̂) = conv(x; W)/σ̂: dividing the weight costs passes over W, not over the
        // activations. W/⟨W, M⟩ is one fused operation (one or two passes over W forward, two
        // backward, instead of five each way).
        return conv2d(x, weight: dividedByInnerProduct(weight, with: sigmaGradient()), bias: bias,
                      stride: stride, padding: padding)
    }

    public func visit(_ vis: inout TensorVisitor) {
        if let bias { vis.parameter("bias", bias) }
        vis.parameter("parametrizations.weight.original", weight)
        vis.buffer("parametrizations.weight.0._u", u)
        vis.buffer("parametrizations.weight.0._v", v)
    }
}
