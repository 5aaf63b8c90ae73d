/// Comparisons (results are 0/1 masks, piecewise constant and never recorded: see
/// ``Op/isPiecewiseConstant``) and `where`.

extension Tensor {
    private func compare(_ other: Tensor, op: Op, _ predicate: (Float, Float) -> Bool) -> Tensor {
        let shape = Shape.broadcast(self.shape, other.shape, op: op.rawValue)
        let out = Tensor(uninitializedShape: shape)
        guard out.count > 0 else { return out }
        let pa = storage.pointer, pb = other.storage.pointer, po = out.storage.pointer
        BroadcastLoop(output: shape, a: self.shape, b: other.shape).forEachBlock { oa, sa, ob, sb, oo, n in
            for i in 0..<n { po[oo + i] = predicate(pa[oa + i * sa], pb[ob + i * sb]) ? 1 : 0 }
        }
        return out
    }

    /// 1 where `self > other`, else 0 (broadcasting).
    public func greater(_ other: Tensor) -> Tensor { compare(other, op: .greater) { $0 > $1 } }
    /// 1 where `self ≥ other`, else 0.
    public func greaterEqual(_ other: Tensor) -> Tensor { compare(other, op: .greaterEqual) { $0 >= $1 } }
    /// 1 where `self < other`, else 0.
    public func less(_ other: Tensor) -> Tensor { compare(other, op: .less) { $0 < $1 } }
    /// 1 where `self ≤ other`, else 0.
    public func lessEqual(_ other: Tensor) -> Tensor { compare(other, op: .lessEqual) { $0 <= $1 } }
    /// 1 where `self == other`, else 0.
    public func equal(_ other: Tensor) -> Tensor { compare(other, op: .equal) { $0 == $1 } }

    public func greater(_ v: Float) -> Tensor { greater(Tensor(v)) }
    public func greaterEqual(_ v: Float) -> Tensor { greaterEqual(Tensor(v)) }
    public func less(_ v: Float) -> Tensor { less(Tensor(v)) }
    public func lessEqual(_ v: Float) -> Tensor { lessEqual(Tensor(v)) }
    public func equal(_ v: Float) -> Tensor { equal(Tensor(v)) }

    /// Whether every element is finite (no NaN or ±∞).
    public var isFinite: Bool {
        let p = storage.pointer
        for i in 0..<count where !p[i].isFinite { return false }
        return true
    }
}

/// Picks `a` where `condition` is nonzero and `b` elsewhere (all three broadcast together).
/// Unselected values never leak into the result, even when they are NaN or infinite.
/// ∂/∂a = g·[c], ∂/∂b = g·[¬c]; the condition gets no gradient.
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape, op: "where"), b.shape, op: "where")
    let (c, x, y) = withoutGrad { (condition.expanded(to: shape), a.expanded(to: shape), b.expanded(to: shape)) }
    let out = Tensor(uninitializedShape: shape)
    let pc = c.storage.pointer, px = x.storage.pointer, py = y.storage.pointer, po = out.storage.pointer
    for i in 0..<out.count { po[i] = pc[i] != 0 ? px[i] : py[i] }
    return Tensor.record(out, op: .where, inputs: [a, b]) { ctx in
        let zero = Tensor.zeros([])
        return [ctx.needsGrad[0] ? `where`(c, ctx.gradOutput, zero).sumToShape(ctx.inputs[0].shape) : nil,
                ctx.needsGrad[1] ? `where`(c, zero, ctx.gradOutput).sumToShape(ctx.inputs[1].shape) : nil]
    }
}
