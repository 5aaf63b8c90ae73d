/// Shape manipulation: reshape, permute/transpose, broadcast expansion, squeeze, flatten.
/// Reshapes share storage (tensors are immutable); permutes and expansions copy.

extension Tensor {
    /// The same elements with a new shape (one extent may be −1 and is inferred).
    /// Shares storage with `self`. ∂/∂x = g reshaped back.
    public func reshaped(to newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else { shapeMismatch("reshape", shape, newShape, "are incompatible") }
            target[hole] = count / known
        }
        guard Shape.count(target) == count, !target.contains(where: { $0 < 0 }) else {
            shapeMismatch("reshape", shape, newShape, "have different element counts")
        }
        if target == shape { return self }
        return Tensor.record(Tensor(shape: target, storage: storage), op: .reshape, inputs: [self]) { c in
            [c.gradOutput.reshaped(to: c.inputs[0].shape)]
        }
    }

    /// Collapses axes `startAxis...` into one: `[N, C, H, W]` → `[N, C·H·W]` by default.
    public func flattened(startAxis: Int = 1) -> Tensor {
        let a = Shape.normalize(axis: startAxis, rank: rank, op: "flatten")
        return reshaped(to: Array(shape[..<a]) + [shape[a...].reduce(1, *)])
    }

    /// Inserts an axis of extent 1 at `axis`.
    public func unsqueezed(axis: Int) -> Tensor {
        let a = Shape.normalize(axis: axis, rank: rank + 1, op: "unsqueeze")
        var s = shape
        s.insert(1, at: a)
        return reshaped(to: s)
    }

    /// Removes the given axes of extent 1 (all of them when `axes` is nil).
    public func squeezed(axes: [Int]? = nil) -> Tensor {
        let drop = Set(axes.map { $0.map { Shape.normalize(axis: $0, rank: rank, op: "squeeze") } }
                       ?? shape.indices.filter { shape[$0] == 1 })
        for a in drop where shape[a] != 1 { invalidShape("squeeze", shape, "has extent \(shape[a]) at axis \(a)") }
        return reshaped(to: shape.indices.filter { !drop.contains($0) }.map { shape[$0] })
    }

    /// Axes reordered: output axis i is input axis `permutation[i]`. ∂/∂x = g permuted back.
    public func permuted(_ permutation: [Int]) -> Tensor {
        guard permutation.sorted() == Array(0..<rank) else {
            invalidShape("permute", shape, "cannot be permuted by \(permutation)")
        }
        if permutation == Array(0..<rank) { return self }
        let outShape = permutation.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        let inStrides = Shape.strides(shape)
        copyStrided(from: storage.pointer, strides: permutation.map { inStrides[$0] },
                    to: out.storage.pointer, shape: outShape)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Tensor.record(out, op: .permute, inputs: [self]) { c in [c.gradOutput.permuted(inverse)] }
    }

    /// Swaps two axes (the last two by default, the matrix transpose).
    public func transposed(_ axis0: Int = -2, _ axis1: Int = -1) -> Tensor {
        var p = Array(0..<rank)
        p.swapAt(Shape.normalize(axis: axis0, rank: rank, op: "transpose"),
                 Shape.normalize(axis: axis1, rank: rank, op: "transpose"))
        return permuted(p)
    }

    /// The tensor broadcast to `target` (materialised). ∂/∂x = g summed back to the input shape.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        guard Shape.broadcast(shape, target, op: "expand") == target else {
            shapeMismatch("expand", shape, target, "cannot be expanded (source, target)")
        }
        let out = Tensor(uninitializedShape: target)
        if out.count > 0 {
            let src = storage.pointer, dst = out.storage.pointer
            BroadcastLoop(output: target, a: shape, b: []).forEachBlockInParallel { oa, sa, _, _, oo, n in
                if sa == 0 { (dst + oo).update(repeating: src[oa], count: n) }
                else { (dst + oo).update(from: src + oa, count: n) }
            }
        }
        return Tensor.record(out, op: .expand, inputs: [self]) { c in [c.gradOutput.sumToShape(c.inputs[0].shape)] }
    }
}

/// Copies a strided view (`strides` per output axis, in elements) into contiguous `dst`.
func copyStrided(from src: UnsafePointer<Float>, strides: [Int], to dst: UnsafeMutablePointer<Float>, shape: [Int]) {
    let rank = shape.count
    let total = Shape.count(shape)
    guard total > 0 else { return }
    if rank == 0 { dst[0] = src[0]; return }
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var offset = 0, out = 0
    while out < total {
        if innerStride == 1 { (dst + out).update(from: src + offset, count: inner) }
        else { for i in 0..<inner { dst[out + i] = src[offset + i * innerStride] } }
        out += inner
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { break }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
