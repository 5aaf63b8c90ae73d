import TensorKernels

/// Batch normalisation and dropout.

/// Batch normalisation over `[N, C]` or `[N, C, H, W]` (statistics per channel C).
///
/// In training the batch mean μ and biased variance σ² normalise `x`, and the running
/// statistics are updated in place as `r ← (1−m)·r + m·stat` (the variance unbiased, as PyTorch
/// does); in evaluation the running statistics are used. `y = (x − μ)/√(σ² + ε) · weight + bias`.
///
/// A fused kernel computes the forward pass. Its rule, with x̂ = (x − μ)·ρ and ρ = 1/√(σ²+ε):
/// `∂bias = Σ g`, `∂weight = Σ g·x̂`, `∂x = ρ·(ĝ − mean ĝ − x̂·mean(ĝ·x̂))` with ĝ = g·weight.
/// When the backward pass is itself recorded (double backprop) the rule is evaluated in tensor
/// operations from x, so it can be differentiated again; otherwise a fused kernel evaluates it.
public func batchNorm(_ x: Tensor, runningMean: Tensor, runningVar: Tensor,
                      weight: Tensor? = nil, bias: Tensor? = nil,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    let geometry = ChannelGeometry(validating: x, "batchNorm", runningMean: runningMean, runningVar: runningVar,
                                   weight: weight, bias: bias)
    if training, let shard = BatchShard.applying(toBatch: x.shape[0]) {
        return BatchNormOp.synchronized(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                        momentum: momentum, epsilon: epsilon, shard, geometry)
    }
    if training {
        return BatchNormOp.training(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                    momentum: momentum, epsilon: epsilon, geometry)
    }
    return BatchNormOp.evaluation(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                  epsilon: epsilon, geometry)
}

/// A tensor viewed as `[outer, channels, inner]` with per-channel statistics over axes 0, 2, 3.
struct ChannelGeometry {
    let outer, channels, inner: Int
    let axes: [Int]
    let statShape: [Int]
    init(_ x: Tensor) {
        (outer, channels) = (x.shape[0], x.shape[1])
        inner = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
        axes = x.rank == 2 ? [0] : [0, 2, 3]
        statShape = x.rank == 2 ? [1, channels] : [1, channels, 1, 1]
    }

    /// The geometry of a batch-norm input, after checking that x is `[N, C]` or `[N, C, H, W]`
    /// and that the per-channel tensors have C values (stops naming `op` otherwise).
    init(validating x: Tensor, _ op: String, runningMean: Tensor, runningVar: Tensor, weight: Tensor?, bias: Tensor?) {
        guard x.rank == 2 || x.rank == 4 else { invalidShape(op, x.shape, "is not [N, C] or [N, C, H, W]") }
        let channels = x.shape[1]
        for (name, t) in [("runningMean", runningMean), ("runningVar", runningVar)] + (weight.map { [("weight", $0)] } ?? [])
            + (bias.map { [("bias", $0)] } ?? []) where t.shape != [channels] {
            shapeMismatch("\(op) \(name)", t.shape, x.shape, "disagree on channels (\(channels))")
        }
        self.init(x)
    }
}

enum BatchNormOp {
    static func training(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                         momentum: Float, epsilon: Float, _ geo: ChannelGeometry) -> Tensor {
        let (mean, inverseStd) = batchStatistics(x, runningMean: runningMean, runningVar: runningVar, momentum: momentum,
                                                 epsilon: epsilon, geo)
        return affine(x, weight: weight, bias: bias, mean: mean, inverseStd: inverseStd, epsilon: epsilon, geo)
    }

    /// The batch's per-channel mean μ and ρ = 1/√(σ² + ε) (σ² biased) by the fused kernel, after
    /// which the running statistics are updated in place, `r ← (1−m)·r + m·stat` with the
    /// variance unbiased. Not recorded: the rules recompute what they differentiate.
    static func batchStatistics(_ x: Tensor, runningMean: Tensor, runningVar: Tensor, momentum: Float, epsilon: Float,
                                _ geo: ChannelGeometry) -> (mean: Tensor, inverseStd: Tensor) {
        let n = geo.outer * geo.inner
        guard n > 1 else { invalidShape("batchNorm", x.shape, "has one value per channel; training needs more") }
        let mean = Tensor(uninitializedShape: [geo.channels]), variance = Tensor(uninitializedShape: [geo.channels])
        let inverseStd = Tensor(uninitializedShape: [geo.channels])
        batchNormStatistics(x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner, epsilon: epsilon,
                            mean: mean.storage.pointer, variance: variance.storage.pointer, inverseStd: inverseStd.storage.pointer)
        withoutGrad {
            runningMean.assign(runningMean * (1 - momentum) + mean * momentum)
            runningVar.assign(runningVar * (1 - momentum) + variance * (momentum * Float(n) / Float(n - 1)))
        }
        return (mean, inverseStd)
    }

    /// `y = (x − μ)·ρ·weight + bias` for the batch statistics `mean` and `inverseStd` of x,
    /// recorded as the training-mode ``Op/batchNorm`` primitive (its rule differentiates the
    /// statistics too). ``batchNormSoftplus`` records y this way when its own rule is recorded.
    static func affine(_ x: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, inverseStd: Tensor, epsilon: Float,
                       _ geo: ChannelGeometry) -> Tensor {
        let out = normalize(x, mean: mean, inverseStd: inverseStd, weight: weight, bias: bias, geo)
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let hasWeight = weight != nil, hasBias = bias != nil
        return Tensor.record(out, op: .batchNorm, inputs: inputs) { c in
            let x = c.inputs[0], w = hasWeight ? c.inputs[1] : nil
            let needX = c.needsGrad[0], needW = hasWeight && c.needsGrad[1], needB = hasBias && c.needsGrad[hasWeight ? 2 : 1]
            var grads: [Tensor?]
            if GradMode.isEnabled {
                grads = trainingRule(c.gradOutput, x, w, needX: needX, needW: needW, needB: needB,
                                     mean: mean, inverseStd: inverseStd, epsilon: epsilon, geo)
            } else {
                grads = fusedTrainingRule(c.gradOutput, x, w, mean: mean, inverseStd: inverseStd,
                                          needX: needX, needW: needW, needB: needB, geo)
            }
            return Array(grads.prefix(1)) + (hasWeight ? [grads[1]] : []) + (hasBias ? [grads[2]] : [])
        }
    }

    /// Training on one replica's rows of a global batch (SyncBatchNorm): μ and σ² are sums over
    /// every replica's rows divided by the global count, composed of recorded ops and
    /// ``sumAcrossReplicas``, so the first and second derivatives reach every replica's inputs
    /// as they would in one process holding the whole batch. The running statistics get the
    /// global μ and σ² (unbiased), the same on every replica.
    static func synchronized(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                             momentum: Float, epsilon: Float, _ shard: BatchShard, _ geo: ChannelGeometry) -> Tensor {
        let count = Float(shard.globalBatch * geo.inner)
        guard count > 1 else { invalidShape("batchNorm", x.shape, "has one value per channel in the global batch; training needs more") }
        let mean = sumAcrossReplicas(x.sum(axes: geo.axes), shard.group) / count
        let centered = x - mean.reshaped(to: geo.statShape)
        let variance = sumAcrossReplicas(square(centered).sum(axes: geo.axes), shard.group) / count
        withoutGrad {
            runningMean.assign(runningMean * (1 - momentum) + mean * momentum)
            runningVar.assign(runningVar * (1 - momentum) + variance * (momentum * count / (count - 1)))
        }
        var y = centered * (1 / sqrt(variance + epsilon)).reshaped(to: geo.statShape)
        if let weight { y = y * weight.reshaped(to: geo.statShape) }
        if let bias { y = y + bias.reshaped(to: geo.statShape) }
        return y
    }

    /// The rule when the backward pass is recorded (double backprop): ∂x is a recorded
    /// primitive (``inputGradient``) with its own rule; ∂weight and ∂bias are tensor operations.
    static func trainingRule(_ g: Tensor, _ x: Tensor, _ w: Tensor?, needX: Bool, needW: Bool, needB: Bool,
                             mean: Tensor, inverseStd: Tensor, epsilon: Float, _ geo: ChannelGeometry) -> [Tensor?] {
        let gx = needX ? inputGradient(g, x, w, mean: mean, inverseStd: inverseStd, epsilon: epsilon, geo) : nil
        var gw: Tensor? = nil
        if needW {
            let stats = Statistics(x, epsilon: epsilon, geo)
            gw = (g * stats.xhat).sum(axes: geo.axes)
        }
        return [gx, gw, needB ? g.sum(axes: geo.axes) : nil]
    }

    /// x̂ = (x − μ)·ρ and ρ = 1/√(σ² + ε) as recorded functions of x.
    struct Statistics {
        let rho: Tensor, xhat: Tensor
        init(_ x: Tensor, epsilon: Float, _ geo: ChannelGeometry) {
            let centered = x - x.mean(axes: geo.axes, keepDims: true)
            rho = 1 / sqrt(square(centered).mean(axes: geo.axes, keepDims: true) + epsilon)
            xhat = centered * rho
        }
    }

    /// ∂x = ρ·P(ĝ) with ĝ = w·g and P(v) = v − mean(v) − x̂·mean(v·x̂) (per channel), as a recorded
    /// primitive computed by the fused kernel. Its rule (see `batchNormDoubleBackward`) gives
    /// ∂g = w·ρ·P(u), ∂w = Σ g·ρ·P(u) and ∂x = −(ρ²/n)[x̂(Σu(ĝ−ḡ) − Σĝx̂·Σux̂/n) + Σux̂·P(ĝ) + Σĝx̂·P(u)]
    /// for upstream u: a fused kernel when not recorded, tensor operations when recorded.
    static func inputGradient(_ g: Tensor, _ x: Tensor, _ w: Tensor?, mean: Tensor, inverseStd: Tensor,
                              epsilon: Float, _ geo: ChannelGeometry) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        batchNormBackward(g.storage.pointer, x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner,
                          mean: mean.storage.pointer, inverseStd: inverseStd.storage.pointer, weight: w?.storage.pointer,
                          gradInput: out.storage.pointer, gradWeight: nil, gradBias: nil)
        let hasWeight = w != nil
        return Tensor.record(out, op: .batchNormInputGradient, inputs: [g, x] + (w.map { [$0] } ?? [])) { c in
            let (u, g, x) = (c.gradOutput, c.inputs[0], c.inputs[1])
            let w = hasWeight ? c.inputs[2] : nil
            let needW = hasWeight && c.needsGrad[2]
            if !GradMode.isEnabled {
                let gg = c.needsGrad[0] ? Tensor(uninitializedShape: x.shape) : nil
                let gx = c.needsGrad[1] ? Tensor(uninitializedShape: x.shape) : nil
                let gw = needW ? Tensor(uninitializedShape: [geo.channels]) : nil
                batchNormDoubleBackward(u.storage.pointer, g.storage.pointer, x.storage.pointer, outer: geo.outer,
                                        channels: geo.channels, inner: geo.inner, mean: mean.storage.pointer,
                                        inverseStd: inverseStd.storage.pointer, weight: w?.storage.pointer,
                                        gradG: gg?.storage.pointer, gradX: gx?.storage.pointer, gradWeight: gw?.storage.pointer)
                return [gg, gx] + (hasWeight ? [gw] : [])
            }
            let stats = Statistics(x, epsilon: epsilon, geo)
            let (rho, xhat) = (stats.rho, stats.xhat)
            func average(_ v: Tensor) -> Tensor { v.mean(axes: geo.axes, keepDims: true) }
            func total(_ v: Tensor) -> Tensor { v.sum(axes: geo.axes, keepDims: true) }
            func project(_ v: Tensor) -> Tensor { v - average(v) - xhat * average(v * xhat) }
            let gh = w.map { g * $0.reshaped(to: geo.statShape) } ?? g
            let pu = project(u)
            var grads: [Tensor?] = [nil, nil]
            if c.needsGrad[0] { grads[0] = w.map { rho * pu * $0.reshaped(to: geo.statShape) } ?? rho * pu }
            if c.needsGrad[1] {
                let n = Float(geo.outer * geo.inner)
                let sumUX = total(u * xhat), sumGX = total(gh * xhat)
                let a = total(u * (gh - average(gh))) - sumGX * sumUX / n
                grads[1] = -(rho * rho / n) * (xhat * a + sumUX * project(gh) + sumGX * pu)
            }
            if hasWeight { grads.append(needW ? (g * rho * pu).sum(axes: geo.axes) : nil) }
            return grads
        }
    }

    /// The same rule by the fused kernel (first-order backward passes).
    static func fusedTrainingRule(_ g: Tensor, _ x: Tensor, _ w: Tensor?, mean: Tensor, inverseStd: Tensor,
                                  needX: Bool, needW: Bool, needB: Bool, _ geo: ChannelGeometry) -> [Tensor?] {
        let gx = needX ? Tensor(uninitializedShape: x.shape) : nil
        let gw = needW ? Tensor(uninitializedShape: [geo.channels]) : nil
        let gb = needB ? Tensor(uninitializedShape: [geo.channels]) : nil
        batchNormBackward(g.storage.pointer, x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner,
                          mean: mean.storage.pointer, inverseStd: inverseStd.storage.pointer, weight: w?.storage.pointer,
                          gradInput: gx?.storage.pointer, gradWeight: gw?.storage.pointer, gradBias: gb?.storage.pointer)
        return [gx, gw, gb]
    }

    /// The per-channel `scale` = ρ·weight and `shift` = bias of the affine kernels (not recorded).
    static func coefficients(inverseStd: Tensor, weight: Tensor?, bias: Tensor?,
                             _ geo: ChannelGeometry) -> (scale: Tensor, shift: Tensor) {
        let scale = withoutGrad { weight.map { inverseStd * $0.detached() } ?? inverseStd }
        return (scale, bias?.detached() ?? Tensor.zeros([geo.channels]))
    }

    /// `(x − mean)·ρ·weight + bias` per channel by the fused kernel (not recorded).
    static func normalize(_ x: Tensor, mean: Tensor, inverseStd: Tensor, weight: Tensor?, bias: Tensor?,
                          _ geo: ChannelGeometry) -> Tensor {
        let (scale, shift) = coefficients(inverseStd: inverseStd, weight: weight, bias: bias, geo)
        let out = Tensor(uninitializedShape: x.shape)
        channelAffine(x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner,
                      scale: scale.storage.pointer, mean: mean.storage.pointer, shift: shift.storage.pointer, out.storage.pointer)
        return out
    }

    /// Evaluation: `y = (x − running_mean)·ρ·weight + bias` with ρ = 1/√(running_var + ε), an
    /// affine map of x; its rule is written in tensor operations.
    static func evaluation(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                           epsilon: Float, _ geo: ChannelGeometry) -> Tensor {
        let (mean, rho) = withoutGrad { (runningMean.copy(), 1 / sqrt(runningVar + epsilon)) }
        let out = normalize(x, mean: mean, inverseStd: rho, weight: weight, bias: bias, geo)
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let hasWeight = weight != nil, hasBias = bias != nil
        return Tensor.record(out, op: .batchNormEval, inputs: inputs) { c in
            let g = c.gradOutput, x = c.inputs[0]
            let rhoS = rho.reshaped(to: geo.statShape)
            var grads: [Tensor?] = []
            if c.needsGrad[0] {
                grads.append(hasWeight ? g * (rhoS * c.inputs[1].reshaped(to: geo.statShape)) : g * rhoS)
            } else {
                grads.append(nil)
            }
            if hasWeight {
                grads.append(c.needsGrad[1] ? (g * ((x - mean.reshaped(to: geo.statShape)) * rhoS)).sum(axes: geo.axes) : nil)
            }
            if hasBias { grads.append(c.needsGrad[hasWeight ? 2 : 1] ? g.sum(axes: geo.axes) : nil) }
            return grads
        }
    }
}

/// Inverted dropout: in training, zeroes each element with probability `p` and scales the rest
/// by 1/(1−p); the identity in evaluation.
///
/// The mask is counter-based (``dropoutMask(key:probability:firstIndex:count:_:)``): each call
/// takes one 64-bit key from `generator`, whatever the size of `x`, and element i of the batch
/// (its flat row-major index) keeps or drops as a pure function of (key, i) — SplitMix64's
/// output function of key + (i+1)·φ, whose top 24 bits give a uniform u in [0, 1), kept where
/// u ≥ p. No element depends on another's draw, so the kernel runs on every thread in SIMD, and
/// on a replica of a data-parallel step holding rows [r₀, r₁) of the global batch
/// (``BatchShard``) i runs from r₀·(elements per row): the replica's mask is exactly its rows of
/// the global batch's mask, and its generator, advanced by the one key, ends where one process's
/// would.
///
/// The kernel writes the mask and x·mask in one pass; the result is recorded as the product
/// `x * mask` (``Tensor/recordProduct(_:_:_:)``: rule g·mask for x; the mask is a constant), so
/// it differentiates to any order like the product.
public func dropout(_ x: Tensor, probability p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got \(p)")
    guard training, p > 0 else { return x }
    let key = generator.next()
    let mask = Tensor(uninitializedShape: x.shape), out = Tensor(uninitializedShape: x.shape)
    let perRow = x.shape[0] == 0 ? 0 : x.count / x.shape[0]
    let firstRow = BatchShard.applying(toBatch: x.shape[0])?.rows.lowerBound ?? 0
    dropoutForward(x.storage.pointer, key: key, probability: p, firstIndex: firstRow * perRow, count: x.count,
                   mask: mask.storage.pointer, out.storage.pointer)
    return Tensor.recordProduct(out, x, mask)
}
