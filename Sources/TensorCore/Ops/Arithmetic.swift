import TensorKernels

/// Binary arithmetic with NumPy broadcasting: `+ − × ÷`, `pow`, `maximum`, `minimum`.
/// Gradients of broadcast operands are summed back to the operand's shape.

extension Tensor {
    /// Applies a broadcasting binary kernel without recording (the raw forward).
    static func broadcastKernel(_ a: Tensor, _ b: Tensor, _ kernel: BinaryKernel, op: String) -> Tensor {
        if a.shape == b.shape {
            let out = Tensor(uninitializedShape: a.shape)
            applyBinary(kernel, a.storage.pointer, strideA: 1, b.storage.pointer, strideB: 1,
                        out.storage.pointer, count: out.count)
            return out
        }
        let shape = Shape.broadcast(a.shape, b.shape, op: op)
        let out = Tensor(uninitializedShape: shape)
        guard out.count > 0 else { return out }
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        BroadcastLoop(output: shape, a: a.shape, b: b.shape).forEachBlockInParallel { oa, sa, ob, sb, oo, n in
            applyBinary(kernel, pa + oa, strideA: sa, pb + ob, strideB: sb, po + oo, count: n)
        }
        return out
    }

    /// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        guard lead >= 0 else { shapeMismatch("sumToShape", shape, target, "cannot be reduced") }
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(axes: axes, keepDims: true).reshaped(to: target)
    }
}

/// Elementwise sum with broadcasting. ∂/∂a = g, ∂/∂b = g (summed to each shape).
public func + (a: Tensor, b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .add, op: "add"), op: .add, inputs: [a, b]) { c in
        [c.needsGrad[0] ? c.gradOutput.sumToShape(c.inputs[0].shape) : nil,
         c.needsGrad[1] ? c.gradOutput.sumToShape(c.inputs[1].shape) : nil]
    }
}

/// Elementwise difference with broadcasting. ∂/∂a = g, ∂/∂b = −g.
public func - (a: Tensor, b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .subtract, op: "subtract"), op: .subtract, inputs: [a, b]) { c in
        [c.needsGrad[0] ? c.gradOutput.sumToShape(c.inputs[0].shape) : nil,
         c.needsGrad[1] ? (-c.gradOutput).sumToShape(c.inputs[1].shape) : nil]
    }
}

/// Elementwise product with broadcasting. ∂/∂a = g·b, ∂/∂b = g·a.
public func * (a: Tensor, b: Tensor) -> Tensor {
    Tensor.recordProduct(Tensor.broadcastKernel(a, b, .multiply, op: "multiply"), a, b)
}

extension Tensor {
    /// Records `product`, already computed as a·b (with broadcasting) by a kernel of the caller's
    /// (`*`, or dropout's fused mask-and-product pass), as the product node: ∂/∂a = g·b,
    /// ∂/∂b = g·a, each summed to its operand's shape.
    static func recordProduct(_ product: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        record(product, op: .multiply, inputs: [a, b]) { c in
            let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
            return [c.needsGrad[0] ? (g * b).sumToShape(a.shape) : nil,
                    c.needsGrad[1] ? (g * a).sumToShape(b.shape) : nil]
        }
    }
}

/// Elementwise quotient with broadcasting. ∂/∂a = g/b, ∂/∂b = −g·a/b².
public func / (a: Tensor, b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .divide, op: "divide"), op: .divide, inputs: [a, b]) { c in
        let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
        return [c.needsGrad[0] ? (g / b).sumToShape(a.shape) : nil,
                c.needsGrad[1] ? (-(g * c.output) / b).sumToShape(b.shape) : nil]
    }
}

/// Negation. ∂/∂x = −g.
public prefix func - (x: Tensor) -> Tensor {
    Tensor.record(Tensor.unaryKernel(x, .negate), op: .negate, inputs: [x]) { c in [-c.gradOutput] }
}

public func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
public func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
public func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
public func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
public func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
public func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
public func / (a: Tensor, b: Float) -> Tensor { a / Tensor(b) }
public func / (a: Float, b: Tensor) -> Tensor { Tensor(a) / b }

/// `a` raised to `b`, elementwise with broadcasting (defined for a > 0, or integer b).
/// ∂/∂a = g·b·a^(b−1), ∂/∂b = g·aᵇ·log a (taken as 0 where a ≤ 0).
public func pow(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .power, op: "pow"), op: .pow, inputs: [a, b]) { c in
        let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
        let ga: Tensor? = c.needsGrad[0] ? (g * b * pow(a, b - 1)).sumToShape(a.shape) : nil
        var gb: Tensor? = nil
        if c.needsGrad[1] {
            let positive = a.greater(0)
            let safeLog = log(`where`(positive, a, Tensor.ones(a.shape)))
            gb = (g * c.output * safeLog * positive).sumToShape(b.shape)
        }
        return [ga, gb]
    }
}

/// `x` raised to a constant power. ∂/∂x = g·p·x^(p−1).
public func pow(_ x: Tensor, _ p: Float) -> Tensor {
    if p == 1 { return x * 1 }
    return Tensor.record(Tensor.broadcastKernel(x, Tensor(p), .power, op: "pow"), op: .powConstant, inputs: [x]) { c in
        [c.gradOutput * (p * pow(c.inputs[0], p - 1))]
    }
}

/// Elementwise maximum with broadcasting; ties send the gradient to `a`.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .maximum, op: "maximum"), op: .maximum, inputs: [a, b]) { c in
        let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
        let takeA = a.greaterEqual(b)
        return [c.needsGrad[0] ? (g * takeA).sumToShape(a.shape) : nil,
                c.needsGrad[1] ? (g * (1 - takeA)).sumToShape(b.shape) : nil]
    }
}

/// Elementwise minimum with broadcasting; ties send the gradient to `a`.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor.record(Tensor.broadcastKernel(a, b, .minimum, op: "minimum"), op: .minimum, inputs: [a, b]) { c in
        let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
        let takeA = a.lessEqual(b)
        return [c.needsGrad[0] ? (g * takeA).sumToShape(a.shape) : nil,
                c.needsGrad[1] ? (g * (1 - takeA)).sumToShape(b.shape) : nil]
    }
}

public func maximum(_ a: Tensor, _ b: Float) -> Tensor { maximum(a, Tensor(b)) }
public func minimum(_ a: Tensor, _ b: Float) -> Tensor { minimum(a, Tensor(b)) }

/// Clamps every element into `[low, high]`; the gradient passes where the value is inside.
public func clamp(_ x: Tensor, min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
    precondition(low <= high, "clamp: min \(low) is greater than max \(high)")
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.storage.pointer, po = out.storage.pointer
    for i in 0..<x.count { po[i] = Swift.min(Swift.max(px[i], low), high) }
    return Tensor.record(out, op: .clamp, inputs: [x]) { c in
        let inside = c.inputs[0].greaterEqual(low) * c.inputs[0].lessEqual(high)
        return [c.gradOutput * inside]
    }
}
