import TensorKernels

/// Elementwise functions of one tensor, each with its backward rule in tensor operations.

extension Tensor {
    /// Applies a unary kernel without recording (the raw forward).
    static func unaryKernel(_ x: Tensor, _ kernel: UnaryKernel) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        applyUnary(kernel, x.storage.pointer, out.storage.pointer, count: x.count)
        return out
    }

    /// A recorded unary operation whose rule maps (g, x, y) to ∂L/∂x.
    static func unary(_ x: Tensor, _ kernel: UnaryKernel, op: Op,
                      _ rule: @escaping (_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor) -> Tensor {
        record(unaryKernel(x, kernel), op: op, inputs: [x]) { c in [rule(c.gradOutput, c.inputs[0], c.output)] }
    }
}

/// eˣ. ∂/∂x = g·eˣ.
public func exp(_ x: Tensor) -> Tensor { Tensor.unary(x, .exp, op: .exp) { g, _, y in g * y } }
/// Natural logarithm. ∂/∂x = g/x.
public func log(_ x: Tensor) -> Tensor { Tensor.unary(x, .log, op: .log) { g, x, _ in g / x } }
/// log(1+x), accurate near 0. ∂/∂x = g/(1+x).
public func log1p(_ x: Tensor) -> Tensor { Tensor.unary(x, .log1p, op: .log1p) { g, x, _ in g / (x + 1) } }
/// √x. ∂/∂x = g/(2√x).
public func sqrt(_ x: Tensor) -> Tensor { Tensor.unary(x, .sqrt, op: .sqrt) { g, _, y in g / (y * 2) } }
/// |x|. ∂/∂x = g·sign(x) (0 at 0).
public func abs(_ x: Tensor) -> Tensor { Tensor.unary(x, .abs, op: .abs) { g, x, _ in g * sign(x) } }
/// sign(x) ∈ {−1, 0, 1}; its derivative is zero almost everywhere, so it is not recorded
/// (``Op/sign`` is piecewise constant).
public func sign(_ x: Tensor) -> Tensor { Tensor.unaryKernel(x, .sign) }
/// The logistic function σ(x) = 1/(1+e⁻ˣ). ∂/∂x = g·σ(1−σ).
public func sigmoid(_ x: Tensor) -> Tensor { Tensor.unary(x, .sigmoid, op: .sigmoid) { g, _, y in g * y * (1 - y) } }
/// Hyperbolic tangent. ∂/∂x = g·(1−tanh²).
public func tanh(_ x: Tensor) -> Tensor { Tensor.unary(x, .tanh, op: .tanh) { g, _, y in g * (1 - y * y) } }
/// max(x, 0). ∂/∂x = g·[x>0]; the second derivative is zero.
public func relu(_ x: Tensor) -> Tensor { Tensor.unary(x, .relu, op: .relu) { g, x, _ in g * x.greater(0) } }
/// x². ∂/∂x = 2gx.
public func square(_ x: Tensor) -> Tensor { Tensor.unary(x, .square, op: .square) { g, x, _ in g * x * 2 } }
/// 1/x. ∂/∂x = −g/x².
public func reciprocal(_ x: Tensor) -> Tensor { Tensor.unary(x, .reciprocal, op: .reciprocal) { g, _, y in -(g * y * y) } }
