/// Batch normalisation and dropout.

/// Batch normalisation over `[N, C]` or `[N, C, H, W]` (statistics per channel C).
///
/// In training the batch mean and biased variance normalise `x`, and the running statistics
/// are updated in place as `r ← (1−m)·r + m·stat` (the variance unbiased, as PyTorch does);
/// in evaluation the running statistics are used. `out = (x − μ)/√(σ² + ε) · weight + bias`.
/// Composed from differentiable operations, so it can be differentiated twice.
public func batchNorm(_ x: Tensor, runningMean: Tensor, runningVar: Tensor,
                      weight: Tensor? = nil, bias: Tensor? = nil,
                      training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) -> Tensor {
    guard x.rank == 2 || x.rank == 4 else { invalidShape("batchNorm", x.shape, "is not [N, C] or [N, C, H, W]") }
    let channels = x.shape[1]
    for (name, t) in [("runningMean", runningMean), ("runningVar", runningVar)] + (weight.map { [("weight", $0)] } ?? [])
        + (bias.map { [("bias", $0)] } ?? []) where t.shape != [channels] {
        shapeMismatch("batchNorm \(name)", t.shape, x.shape, "disagree on channels (\(channels))")
    }
    let axes = x.rank == 2 ? [0] : [0, 2, 3]
    let statShape = x.rank == 2 ? [1, channels] : [1, channels, 1, 1]
    let normalized: Tensor
    if training {
        let n = x.count / Swift.max(channels, 1)
        guard n > 1 else { invalidShape("batchNorm", x.shape, "has one value per channel; training needs more") }
        let mean = x.mean(axes: axes, keepDims: true)
        let centered = x - mean
        let variance = square(centered).mean(axes: axes, keepDims: true)
        normalized = centered / sqrt(variance + epsilon)
        withoutGrad {
            let unbiased = variance.detached() * (Float(n) / Float(n - 1))
            runningMean.assign(runningMean * (1 - momentum) + mean.detached().reshaped(to: [channels]) * momentum)
            runningVar.assign(runningVar * (1 - momentum) + unbiased.reshaped(to: [channels]) * momentum)
        }
    } else {
        let mean = runningMean.detached().reshaped(to: statShape)
        let scale = withoutGrad { 1 / sqrt(runningVar.detached() + epsilon) }.reshaped(to: statShape)
        normalized = (x - mean) * scale
    }
    var out = normalized
    if let weight { out = out * weight.reshaped(to: statShape) }
    if let bias { out = out + bias.reshaped(to: statShape) }
    return out
}

/// Inverted dropout: in training, zeroes each element with probability `p` and scales the rest
/// by 1/(1−p); the identity in evaluation.
public func dropout(_ x: Tensor, probability p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got \(p)")
    guard training, p > 0 else { return x }
    let mask = Tensor(uninitializedShape: x.shape)
    let keep = 1 / (1 - p)
    for i in 0..<x.count { mask.storage.pointer[i] = generator.nextUniform() >= p ? keep : 0 }
    return x * mask
}
