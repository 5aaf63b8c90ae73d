import TensorKernels

/// Batch norm followed by softplus, `softplus(batchNorm(x, …), beta:, centered:)`, as one
/// operation: the block every Standard and LCNN network repeats after its convolutions (paper
/// §3: BN or γ-Lipschitz BN, then softplus with β; SPEC B1/B2/B6).
///
/// Values, running statistics and derivatives of every order are those of the composition. In
/// training mode on one process the forward pass writes the activation in one pass after the
/// statistics (the normalised value z is never stored), and a first-order backward pass is one
/// fused kernel (`batchNormSoftplusBackward`) that recomputes z from x. When the backward pass is
/// itself recorded (double backprop: GradReg, CURE, Hessian-vector products) the rule recomputes z
/// as a recorded batch norm and applies the rules of ``softplus(_:beta:centered:)`` and
/// ``batchNorm(_:runningMean:runningVar:weight:bias:training:momentum:epsilon:)`` to it, so it
/// can be differentiated again. Evaluation mode and a batch shard (synchronised batch norm) run
/// the composition itself.
///
/// - Parameters:
///   - beta: a scalar tensor, β > 0 (learnable when it requires gradients).
///   - centered: subtract log 2/β (the centered softplus of LCNN, B2).
public func batchNormSoftplus(_ x: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor? = nil,
                              bias: Tensor? = nil, training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5,
                              beta: Tensor, centered: Bool = false) -> Tensor {
    let geometry = BatchNormOp.validate("batchNormSoftplus", x, runningMean: runningMean, runningVar: runningVar,
                                        weight: weight, bias: bias)
    guard beta.count == 1 else { invalidShape("batchNormSoftplus", beta.shape, "is not a scalar β") }
    guard training, BatchShard.applying(toBatch: x.shape[0]) == nil else {
        let normalized = batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                   training: training, momentum: momentum, epsilon: epsilon)
        return softplus(normalized, beta: beta, centered: centered)
    }
    return BatchNormSoftplusOp.training(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                        momentum: momentum, epsilon: epsilon, beta: beta, centered: centered, geometry)
}

enum BatchNormSoftplusOp {
    static func training(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                         momentum: Float, epsilon: Float, beta: Tensor, centered: Bool, _ geo: ChannelGeometry) -> Tensor {
        let b = beta.storage.pointer[0]
        guard b > 0 else { fatalError("batchNormSoftplus: β must be positive, got \(b)") }
        let (mean, inverseStd) = BatchNormOp.batchStatistics(x, runningMean: runningMean, runningVar: runningVar,
                                                             momentum: momentum, epsilon: epsilon, geo)
        let (scale, shift) = BatchNormOp.affineCoefficients(inverseStd: inverseStd, weight: weight, bias: bias, geo)
        let out = Tensor(uninitializedShape: x.shape)
        channelAffineSoftplus(x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner,
                              scale: scale.storage.pointer, mean: mean.storage.pointer, shift: shift.storage.pointer,
                              beta: b, centered: centered, out.storage.pointer)
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? []) + [beta]
        let hasWeight = weight != nil, hasBias = bias != nil
        return Tensor.record(out, op: .batchNormSoftplus, inputs: inputs) { c in
            let betaIndex = c.inputs.count - 1
            let parameters = Parameters(x: c.inputs[0], weight: hasWeight ? c.inputs[1] : nil,
                                        bias: hasBias ? c.inputs[hasWeight ? 2 : 1] : nil, beta: c.inputs[betaIndex],
                                        needX: c.needsGrad[0], needWeight: hasWeight && c.needsGrad[1],
                                        needBias: hasBias && c.needsGrad[hasWeight ? 2 : 1], needBeta: c.needsGrad[betaIndex])
            let grads = GradMode.isEnabled
                ? recordedRule(c.gradOutput, output: c.output, parameters, mean: mean, inverseStd: inverseStd,
                               epsilon: epsilon, geo)
                : fusedRule(c.gradOutput, output: c.output, parameters, beta: b, mean: mean, inverseStd: inverseStd, geo)
            return [grads.x] + (hasWeight ? [grads.weight] : []) + (hasBias ? [grads.bias] : []) + [grads.beta]
        }
    }

    /// The recorded operands and which of them need a gradient.
    struct Parameters {
        let x: Tensor, weight: Tensor?, bias: Tensor?, beta: Tensor
        let needX: Bool, needWeight: Bool, needBias: Bool, needBeta: Bool
    }

    struct Gradients {
        var x: Tensor?, weight: Tensor?, bias: Tensor?, beta: Tensor?
    }

    /// First-order backward pass by the fused kernel (not recorded).
    static func fusedRule(_ g: Tensor, output: Tensor, _ p: Parameters, beta: Float, mean: Tensor, inverseStd: Tensor,
                          _ geo: ChannelGeometry) -> Gradients {
        var grads = Gradients()
        grads.x = p.needX ? Tensor(uninitializedShape: p.x.shape) : nil
        grads.weight = p.needWeight ? Tensor(uninitializedShape: [geo.channels]) : nil
        grads.bias = p.needBias ? Tensor(uninitializedShape: [geo.channels]) : nil
        let total = batchNormSoftplusBackward(g.storage.pointer, p.x.storage.pointer,
                                              output: p.needBeta ? output.storage.pointer : nil,
                                              outer: geo.outer, channels: geo.channels, inner: geo.inner,
                                              mean: mean.storage.pointer, inverseStd: inverseStd.storage.pointer,
                                              weight: p.weight?.storage.pointer, bias: p.bias?.storage.pointer, beta: beta,
                                              gradInput: grads.x?.storage.pointer, gradWeight: grads.weight?.storage.pointer,
                                              gradBias: grads.bias?.storage.pointer)
        if p.needBeta { grads.beta = Tensor([total / beta], shape: p.beta.shape) }
        return grads
    }

    /// The rule when the backward pass is recorded: z = BN(x) recomputed as a recorded batch norm
    /// (scratch running statistics, so the layer's are untouched), then softplus's rule
    /// (gz = g·σ(βz), ∂β = Σ g·(z·σ(βz) − a)/β) and batch norm's (``BatchNormOp/trainingRule``).
    static func recordedRule(_ g: Tensor, output: Tensor, _ p: Parameters, mean: Tensor, inverseStd: Tensor,
                             epsilon: Float, _ geo: ChannelGeometry) -> Gradients {
        let z = BatchNormOp.training(p.x, weight: p.weight, bias: p.bias, runningMean: .zeros([geo.channels]),
                                     runningVar: .ones([geo.channels]), momentum: 0, epsilon: epsilon, geo)
        let s = scaledSigmoid(z, beta: p.beta)
        var grads = Gradients()
        if p.needX || p.needWeight || p.needBias {
            let bn = BatchNormOp.trainingRule(g * s, p.x, p.weight, needX: p.needX, needW: p.needWeight, needB: p.needBias,
                                              mean: mean, inverseStd: inverseStd, epsilon: epsilon, geo)
            (grads.x, grads.weight, grads.bias) = (bn[0], bn[1], bn[2])
        }
        if p.needBeta { grads.beta = ((g * (z * s - output)).sum() / p.beta).reshaped(to: p.beta.shape) }
        return grads
    }
}
