import TensorCore

/// Per-sample bookkeeping on batches for the attacks (not differentiable): selecting,
/// replacing and scaling samples, the rows of the first axis.
extension Tensor {
    /// Values per sample (the product of every axis but the first).
    var valuesPerSample: Int { shape.isEmpty || shape[0] == 0 ? 0 : count / shape[0] }

    /// The samples at `indices`, in that order, as a new batch.
    public func samples(_ indices: [Int]) -> Tensor {
        let per = valuesPerSample
        let out = Tensor.zeros([indices.count] + shape.dropFirst())
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (row, i) in indices.enumerated() {
                    precondition(i >= 0 && i < shape[0], "samples: index \(i) outside 0..<\(shape[0])")
                    (dst.baseAddress! + row * per).update(from: src.baseAddress! + i * per, count: per)
                }
            }
        }
        return out
    }

    /// A copy in which sample `indices[r]` is replaced by sample r of `values`.
    public func replacingSamples(at indices: [Int], with values: Tensor) -> Tensor {
        let per = valuesPerSample
        precondition(values.shape.dropFirst() == shape.dropFirst() && values.shape[0] == indices.count,
                     "replacingSamples: \(values.shape) does not fit \(indices.count) samples of \(shape)")
        let out = detached().copy()
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (row, i) in indices.enumerated() {
                    (dst.baseAddress! + i * per).update(from: src.baseAddress! + row * per, count: per)
                }
            }
        }
        return out
    }

    /// A copy in which each sample i with `mask[i]` is replaced by sample i of `other`.
    public func replacingSamples(where mask: [Bool], with other: Tensor) -> Tensor {
        precondition(mask.count == (shape.first ?? 0) && other.shape == shape, "replacingSamples: shapes or mask differ")
        let indices = mask.indices.filter { mask[$0] }
        return indices.isEmpty ? self : replacingSamples(at: indices, with: other.samples(indices))
    }

    /// Each sample multiplied by its own factor.
    public func scaledPerSample(_ factors: [Float]) -> Tensor {
        precondition(factors.count == (shape.first ?? 0), "scaledPerSample: \(factors.count) factors for \(shape)")
        return self * Tensor(factors, shape: [factors.count] + [Int](repeating: 1, count: Swift.max(rank - 1, 0)))
    }
}
