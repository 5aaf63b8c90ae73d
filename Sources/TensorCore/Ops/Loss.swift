/// Log-softmax and cross-entropy.

/// log softmax(x) along `axis`: `x − logsumexp(x)`. Its gradient is `g − softmax·Σg`.
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    x - x.logSumExp(axes: [axis], keepDims: true)
}

/// softmax(x) along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor { exp(logSoftmax(x, axis: axis)) }

/// How per-sample losses are combined.
public enum Reduction: String, Sendable, CaseIterable {
    /// The batch mean.
    case mean
    /// The batch sum.
    case sum
    /// One loss per sample, shape `[N]`.
    case none
}

/// Cross-entropy of the softmax of `logits [N, K]` against integer `labels` in `0..<K`:
/// ℓᵢ = −log softmax(logitsᵢ)[yᵢ] = logsumexp(logitsᵢ) − logitsᵢ[yᵢ].
public func crossEntropy(logits: Tensor, labels: [Int], reduction: Reduction = .mean) -> Tensor {
    guard logits.rank == 2 else { invalidShape("crossEntropy", logits.shape, "is not [N, classes]") }
    let (n, k) = (logits.shape[0], logits.shape[1])
    guard labels.count == n else {
        shapeMismatch("crossEntropy", logits.shape, [labels.count], "disagree on the batch size (logits, labels)")
    }
    var flat = [Int32](repeating: 0, count: n)
    for (i, y) in labels.enumerated() {
        guard y >= 0 && y < k else { fatalError("crossEntropy: label \(y) of sample \(i) is outside 0..<\(k)") }
        flat[i] = Int32(i * k + y)
    }
    let perSample = -logSoftmax(logits, axis: 1).gathered(flatIndices: flat, shape: [n])
    switch reduction {
    case .mean: return perSample.mean()
    case .sum: return perSample.sum()
    case .none: return perSample
    }
}
