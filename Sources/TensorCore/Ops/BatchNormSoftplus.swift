import TensorKernels

/// Batch normalisation followed by softplus, as one operation: `softplus(batchNorm(x, …), beta:,
/// centered:)` with the same values, running-statistics updates and gradients, in fewer passes
/// over memory when training.
///
/// The pair is how the SmallCNN and the ResNets use batch norm (conv → BN → activation): the
/// plain BN with per-channel weight and bias before a fixed-β softplus (SPEC B1), and γ-Lipschitz
/// BN (SPEC B6, paper §3.4.2; its weight is the scalar gain s·min(1/s, γ) expanded to the
/// channels) before the centered softplus with learnable β (paper §3, eq. 2; SPEC B2).
///
/// Training, per channel c with the batch statistics μ_c, ρ_c = 1/√(σ²_c + ε):
///
///     y = w_c·x̂ + b_c,  x̂ = (x − μ_c)·ρ_c,   z = (log(1 + e^{βy}) [− log 2]) / β
///
/// The forward pass is the statistics pass and one pass that reads x and writes z (y is not
/// kept). Its rule, with ĝ = g·σ(βy) the gradient reaching y:
/// `∂x = w_c·ρ_c·(ĝ − mean ĝ − x̂·mean(ĝ·x̂))`, `∂w_c = Σ ĝ·x̂`, `∂b_c = Σ ĝ`,
/// `∂β = Σ g·(y·σ(βy) − z)/β` (sums and means per channel over N·H·W, ∂β over everything).
/// A first-order backward pass (not recorded) evaluates it with one fused kernel: a reduction pass
/// that recomputes y and σ(βy) from x and stores ĝ in ∂x's buffer, then a pass turning ĝ into ∂x
/// in place. A recorded backward pass
/// (double backprop: GradReg, CURE, Hessian-vector products in training mode) evaluates it as the
/// two operations' rules, softplus's on y recomputed as a recorded batch norm of x, so it can be
/// differentiated again exactly as the unfused pair.
///
/// Evaluation, `[N, C]` inputs, maps under `KernelSettings.fuseBatchNormSoftplusMinPixels` (64
/// pixels: smaller ones measured slower fused; never under 16, one vector), replica shards of a
/// data-parallel batch (SyncBatchNorm) and
/// `KernelSettings.fuseBatchNormSoftplus == false` run the two operations one after the other.
///
/// - Parameters:
///   - beta: the scalar β (> 0), a constant or a recorded function of a learnable log β.
///   - centered: subtract log 2/β (the centered softplus, B2).
///   - The others: as ``batchNorm(_:runningMean:runningVar:weight:bias:training:momentum:epsilon:)``.
public func batchNormSoftplus(_ x: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor? = nil,
                              bias: Tensor? = nil, beta: Tensor, centered: Bool = false, training: Bool,
                              momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    guard beta.count == 1 else { invalidShape("batchNormSoftplus", beta.shape, "is not a scalar β") }
    let b = beta.storage.pointer[0]
    guard b > 0 else { fatalError("batchNormSoftplus: β must be positive, got \(b)") }
    // The fused kernels work row by row (H·W values of one channel): on short rows their per-row
    // work outweighs the passes they save (`KernelSettings.fuseBatchNormSoftplusMinPixels`).
    let settings = KernelSettings.current
    let rowLength = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
    guard training, rowLength >= max(16, settings.fuseBatchNormSoftplusMinPixels), settings.fuseBatchNormSoftplus,
          BatchShard.applying(toBatch: x.shape[0]) == nil else {
        return softplus(batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                                  training: training, momentum: momentum, epsilon: epsilon),
                        beta: beta, centered: centered)
    }
    let geo = ChannelGeometry(validating: x, "batchNormSoftplus", runningMean: runningMean, runningVar: runningVar,
                              weight: weight, bias: bias)
    let (mean, inverseStd) = BatchNormOp.batchStatistics(x, runningMean: runningMean, runningVar: runningVar,
                                                         momentum: momentum, epsilon: epsilon, geo)
    let (scale, shift) = BatchNormOp.coefficients(inverseStd: inverseStd, weight: weight, bias: bias, geo)
    let out = Tensor(uninitializedShape: x.shape)
    batchNormSoftplusForward(x.storage.pointer, outer: geo.outer, channels: geo.channels, inner: geo.inner,
                             scale: scale.storage.pointer, mean: mean.storage.pointer, shift: shift.storage.pointer,
                             beta: b, centered: centered, out.storage.pointer)
    let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? []) + [beta]
    let hasWeight = weight != nil, hasBias = bias != nil
    return Tensor.record(out, op: .batchNormSoftplus, inputs: inputs) { c in
        let x = c.inputs[0], w = hasWeight ? c.inputs[1] : nil, bias = hasBias ? c.inputs[hasWeight ? 2 : 1] : nil
        let beta = c.inputs[c.inputs.count - 1]
        let needX = c.needsGrad[0], needW = hasWeight && c.needsGrad[1], needB = hasBias && c.needsGrad[hasWeight ? 2 : 1]
        let needBeta = c.needsGrad[c.inputs.count - 1]
        var grads: [Tensor?]
        if GradMode.isEnabled {
            // Recorded: softplus's rule on y = BN(x) (recorded), then batch norm's rule.
            let y = BatchNormOp.affine(x, weight: w, bias: bias, mean: mean, inverseStd: inverseStd, epsilon: epsilon, geo)
            let soft = softplusRule(c.gradOutput, y, beta: beta, output: c.output, needX: needX || needW || needB,
                                    needBeta: needBeta)
            grads = soft[0].map {
                BatchNormOp.trainingRule($0, x, w, needX: needX, needW: needW, needB: needB, mean: mean,
                                         inverseStd: inverseStd, epsilon: epsilon, geo)
            } ?? [nil, nil, nil]
            grads.append(soft[1])
        } else {
            let gx = needX ? Tensor(uninitializedShape: x.shape) : nil
            let gw = needW ? Tensor(uninitializedShape: [geo.channels]) : nil
            let gb = needB ? Tensor(uninitializedShape: [geo.channels]) : nil
            let betaTerms = batchNormSoftplusBackward(
                c.gradOutput.storage.pointer, x.storage.pointer, output: needBeta ? c.output.storage.pointer : nil,
                outer: geo.outer, channels: geo.channels, inner: geo.inner, mean: mean.storage.pointer,
                inverseStd: inverseStd.storage.pointer, weight: w?.storage.pointer, bias: bias?.storage.pointer, beta: b,
                gradInput: gx?.storage.pointer, gradWeight: gw?.storage.pointer, gradBias: gb?.storage.pointer)
            grads = [gx, gw, gb, needBeta ? Tensor([betaTerms / b], shape: beta.shape) : nil]
        }
        return [grads[0]] + (hasWeight ? [grads[1]] : []) + (hasBias ? [grads[2]] : []) + [grads[3]]
    }
}
