import TensorKernels

/// Reductions over any set of axes: sum, mean, max (values and indices), argmax,
/// log-sum-exp, norms.

enum ReduceKind { case sum, max }

extension Tensor {
    /// Reduces over `axes` (normalised, sorted) without recording; the result keeps the
    /// reduced axes with extent 1. Consecutive axes are reduced in one pass.
    static func reduceKernel(_ x: Tensor, axes: [Int], _ kind: ReduceKind) -> Tensor {
        // Group runs of consecutive axes.
        var groups: [ClosedRange<Int>] = []
        for a in axes {
            if let last = groups.last, last.upperBound + 1 == a { groups[groups.count - 1] = last.lowerBound...a }
            else { groups.append(a...a) }
        }
        var current = x
        var shape = x.shape
        for group in groups.reversed() {
            let outer = shape[..<group.lowerBound].reduce(1, *)
            let r = shape[group].reduce(1, *)
            let inner = shape[(group.upperBound + 1)...].reduce(1, *)
            for a in group { shape[a] = 1 }
            let out = Tensor(uninitializedShape: shape)
            reduceAxis(current.storage.pointer, out.storage.pointer, outer: outer, r: r, inner: inner, kind)
            current = out
        }
        if groups.isEmpty { current = Tensor(shape: shape, storage: x.storage) }
        return current
    }

    /// One `[outer, r, inner] → [outer, inner]` reduction, spread over the kernel threads by
    /// outer index, or by column ranges of `inner` when there is a single outer index.
    private static func reduceAxis(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                   outer: Int, r: Int, inner: Int, _ kind: ReduceKind) {
        func reduce(_ o: Int, _ columns: Range<Int>) {
            let base = src + o * r * inner
            let out = dst + o * inner
            if inner == 1 {
                out[0] = kind == .sum ? contiguousSum(base, r) : contiguousMax(base, r)
                return
            }
            if r == 0 {
                for i in columns { out[i] = kind == .sum ? 0 : -.infinity }
                return
            }
            for i in columns { out[i] = base[i] }
            for j in 1..<r {
                let row = base + j * inner
                switch kind {
                case .sum: for i in columns { out[i] += row[i] }
                case .max: for i in columns { out[i] = Swift.max(out[i], row[i]) }
                }
            }
        }
        let perOuter = Swift.max(r * inner, 1)
        if outer == 1 && inner > 1 {
            parallelFor(inner, minimumWorkPerThread: Swift.max(1, 65_536 / Swift.max(r, 1))) { reduce(0, $0) }
        } else {
            parallelFor(outer, minimumWorkPerThread: Swift.max(1, 65_536 / perOuter)) { range in
                for o in range { reduce(o, 0..<inner) }
            }
        }
    }

    private static func contiguousSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    private static func contiguousMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<n where p[i] > m || p[i].isNaN { m = p[i]; if m.isNaN { return m } }
        return m
    }

    /// The shape after reducing `axes`, with or without the reduced axes.
    private func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Sum over `axes` (all axes when nil). ∂/∂x = g broadcast back to the input shape.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "sum")
        let kept = Tensor.reduceKernel(self, axes: ax, .sum)
        let out = keepDims ? kept : Tensor(shape: reducedShape(ax, keepDims: false), storage: kept.storage)
        let keptShape = kept.shape   // capture the shape, not the tensor: `out` may be `kept`
        return Tensor.record(out, op: .sum, inputs: [self]) { c in
            [c.gradOutput.reshaped(to: keptShape).expanded(to: c.inputs[0].shape)]
        }
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all when nil): the sum divided by the number of reduced elements.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "mean")
        let n = ax.map { shape[$0] }.reduce(1, *)
        return sum(axes: ax, keepDims: keepDims) / Float(Swift.max(n, 1))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Population variance over `axes` (divides by n), as batch norm uses it.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let m = mean(axes: axes, keepDims: true)
        return square(self - m).mean(axes: axes, keepDims: keepDims)
    }

    /// Largest values over `axes`, not recorded (for stabilising shifts such as log-sum-exp's).
    public func maxValues(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "max")
        for a in ax where shape[a] == 0 { invalidShape("max", shape, "has an empty axis \(a)") }
        let kept = Tensor.reduceKernel(self, axes: ax, .max)
        return keepDims ? kept : Tensor(shape: reducedShape(ax, keepDims: false), storage: kept.storage)
    }

    /// Row-major flat indices (into `self`) of the maxima along `axis`, first one on ties.
    func argmaxFlatIndices(axis: Int) -> [Int32] {
        let a = Shape.normalize(axis: axis, rank: rank, op: "argmax")
        guard shape[a] > 0 else { invalidShape("argmax", shape, "has an empty axis \(a)") }
        let outer = shape[..<a].reduce(1, *), r = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var result = [Int32](repeating: 0, count: outer * inner)
        let p = storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = o * r * inner + i
                for j in 1..<r {
                    let k = (o * r + j) * inner + i
                    if p[k] > p[best] { best = k }
                }
                result[o * inner + i] = Int32(best)
            }
        }
        return result
    }

    /// The maxima along `axis` and their positions on that axis. The values are differentiable:
    /// the gradient goes to the (first) maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> (values: Tensor, indices: [Int]) {
        let a = Shape.normalize(axis: axis, rank: rank, op: "max")
        let flat = argmaxFlatIndices(axis: a)
        let inner = shape[(a + 1)...].reduce(1, *), r = shape[a]
        let indices = flat.map { (Int($0) / inner) % r }
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        return (gathered(flatIndices: flat, shape: outShape), indices)
    }

    /// Positions of the maxima along `axis`, flattened in row-major order of the other axes.
    public func argmax(axis: Int = -1) -> [Int] {
        let a = Shape.normalize(axis: axis, rank: rank, op: "argmax")
        let inner = shape[(a + 1)...].reduce(1, *), r = shape[a]
        return argmaxFlatIndices(axis: a).map { (Int($0) / inner) % r }
    }

    /// log Σ exp(x) over `axes`, computed as m + log Σ exp(x − m) with m the (constant) maximum.
    /// ∂/∂x = g·softmax(x); differentiable twice through its composition.
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axes: axes, rank: rank, op: "logSumExp")
        var m = maxValues(axes: ax, keepDims: true)
        if !m.isFinite { m = withoutGrad { `where`(m.isFiniteMask(), m, Tensor.zeros([])) } }
        let lse = log(exp(self - m).sum(axes: ax, keepDims: true)) + m
        return keepDims ? lse : lse.reshaped(to: reducedShape(ax, keepDims: false))
    }

    /// 1 where finite, 0 elsewhere (not recorded).
    func isFiniteMask() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        for i in 0..<count { out.storage.pointer[i] = storage.pointer[i].isFinite ? 1 : 0 }
        return out
    }

    /// Euclidean norm over `axes` (all when nil): √Σx². Its gradient is x/‖x‖ (NaN at 0).
    public func norm(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        sqrt(square(self).sum(axes: axes, keepDims: keepDims))
    }

    /// Squared Euclidean norm over `axes` (smooth everywhere).
    public func squaredNorm(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        square(self).sum(axes: axes, keepDims: keepDims)
    }
}
