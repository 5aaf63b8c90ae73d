import TensorKernels

/// Slicing, gathering and concatenation. Each op is paired with its adjoint
/// (gather ↔ scatter-add, slice ↔ place-into-zeros), so the rules close under differentiation.

extension Tensor {
    /// `out[i] = self.flat[indices[i]]`, reshaped to `shape`. ∂/∂x = scatter-add of g.
    /// - Parameter indicesAreDistinct: promise that no index repeats, which lets the backward
    ///   scatter run in parallel (max-pooling with non-overlapping windows).
    public func gathered(flatIndices indices: [Int32], shape outShape: [Int], indicesAreDistinct: Bool = false) -> Tensor {
        guard Shape.count(outShape) == indices.count else {
            invalidShape("gather", outShape, "does not hold \(indices.count) indices")
        }
        Tensor.checkIndices(indices, count: count, op: "gather")
        let out = Tensor(uninitializedShape: outShape)
        let src = storage.pointer, dst = out.storage.pointer
        indices.withUnsafeBufferPointer { idx in
            let ip = idx.baseAddress!
            parallelFor(idx.count, minimumWorkPerThread: 32_768) { range in
                for i in range { dst[i] = src[Int(ip[i])] }
            }
        }
        return Tensor.record(out, op: .gather, inputs: [self]) { c in
            [c.gradOutput.scatterAdded(flatIndices: indices, shape: c.inputs[0].shape, indicesAreDistinct: indicesAreDistinct)]
        }
    }

    /// Zeros of `shape` with `self.flat[i]` added at `indices[i]`. ∂/∂g = gather of the gradient.
    public func scatterAdded(flatIndices indices: [Int32], shape outShape: [Int], indicesAreDistinct: Bool = false) -> Tensor {
        guard count == indices.count else { invalidShape("scatterAdd", shape, "does not match \(indices.count) indices") }
        Tensor.checkIndices(indices, count: Shape.count(outShape), op: "scatterAdd")
        let out = Tensor.zeros(outShape)
        let src = storage.pointer, dst = out.storage.pointer
        indices.withUnsafeBufferPointer { idx in
            let ip = idx.baseAddress!
            if indicesAreDistinct {
                parallelFor(idx.count, minimumWorkPerThread: 32_768) { range in
                    for i in range { dst[Int(ip[i])] += src[i] }
                }
            } else {
                for i in 0..<idx.count { dst[Int(ip[i])] += src[i] }
            }
        }
        let inShape = shape
        return Tensor.record(out, op: .scatterAdd, inputs: [self]) { c in
            [c.gradOutput.gathered(flatIndices: indices, shape: inShape, indicesAreDistinct: indicesAreDistinct)]
        }
    }

    /// Stops with a message if an index falls outside `0..<count`.
    static func checkIndices(_ indices: [Int32], count: Int, op: String) {
        guard let low = indices.min(), let high = indices.max() else { return }
        if low < 0 || Int(high) >= count {
            fatalError("\(op): index \(low < 0 ? Int(low) : Int(high)) is out of range for \(count) elements")
        }
    }

    /// The sub-tensor with `range` along `axis` (a copy). ∂/∂x = g placed into zeros.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[a] else {
            invalidShape("slice", shape, "has no range \(range) along axis \(a)")
        }
        var outShape = shape
        outShape[a] = range.count
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: outShape)
        let src = storage.pointer, dst = out.storage.pointer
        let block = range.count * inner
        for o in 0..<outer {
            (dst + o * block).update(from: src + (o * shape[a] + range.lowerBound) * inner, count: block)
        }
        let full = shape
        return Tensor.record(out, op: .slice, inputs: [self]) { c in
            [c.gradOutput.placed(into: full, axis: a, at: range.lowerBound)]
        }
    }

    /// Zeros of shape `full` with `self` written at offset `start` along `axis`.
    /// The adjoint of ``sliced(axis:_:)``; ∂/∂x = the slice of g.
    public func placed(into full: [Int], axis: Int, at start: Int) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank, op: "place")
        var expect = full
        expect[a] = shape[a]
        guard expect == shape, start >= 0, start + shape[a] <= full[a] else {
            shapeMismatch("place", shape, full, "do not fit at offset \(start) on axis \(a)")
        }
        let out = Tensor.zeros(full)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let block = shape[a] * inner
        for o in 0..<outer {
            (out.storage.pointer + (o * full[a] + start) * inner).update(from: storage.pointer + o * block, count: block)
        }
        let length = shape[a]
        return Tensor.record(out, op: .place, inputs: [self]) { c in
            [c.gradOutput.sliced(axis: a, start..<(start + length))]
        }
    }

    /// Rows (entries of the first axis) at `indices`, in that order; indices may repeat.
    /// ∂/∂x = g's rows added back at `indices`.
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        guard rank >= 1 else { invalidShape("gatherRows", shape, "has no batch axis") }
        let row = count / Swift.max(shape[0], 1)
        var flat = [Int32]()
        flat.reserveCapacity(indices.count * row)
        for i in indices {
            guard i >= 0 && i < shape[0] else { invalidShape("gatherRows", shape, "has no row \(i)") }
            for j in 0..<row { flat.append(Int32(i * row + j)) }
        }
        return gathered(flatIndices: flat, shape: [indices.count] + shape.dropFirst())
    }

    /// Rows `range` of the first axis.
    public subscript(rows range: Range<Int>) -> Tensor { sliced(axis: 0, range) }
}

/// Joins tensors along `axis`; all other extents must agree. ∂/∂xᵢ = the matching slice of g.
public func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    guard let first = tensors.first else { fatalError("concatenate: no tensors given") }
    let a = Shape.normalize(axis: axis, rank: first.rank, op: "concatenate")
    var outShape = first.shape
    outShape[a] = 0
    for t in tensors {
        var s = t.shape
        guard s.count == first.rank else { shapeMismatch("concatenate", first.shape, t.shape, "have different ranks") }
        s[a] = 0
        var f = first.shape
        f[a] = 0
        guard s == f else { shapeMismatch("concatenate", first.shape, t.shape, "differ off axis \(a)") }
        outShape[a] += t.shape[a]
    }
    let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
    let out = Tensor(uninitializedShape: outShape)
    var offset = 0
    for t in tensors {
        let block = t.shape[a] * inner
        for o in 0..<outer {
            (out.storage.pointer + (o * outShape[a] + offset) * inner).update(from: t.storage.pointer + o * block, count: block)
        }
        offset += t.shape[a]
    }
    let extents = tensors.map { $0.shape[a] }
    return Tensor.record(out, op: .concatenate, inputs: tensors) { c in
        var start = 0
        return extents.enumerated().map { i, n in
            defer { start += n }
            return c.needsGrad[i] ? c.gradOutput.sliced(axis: a, start..<(start + n)) : nil
        }
    }
}

/// Stacks equally shaped tensors along a new axis.
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    guard let first = tensors.first else { fatalError("stack: no tensors given") }
    for t in tensors where t.shape != first.shape { shapeMismatch("stack", first.shape, t.shape, "differ") }
    return concatenate(tensors.map { $0.unsqueezed(axis: axis) }, axis: axis)
}
