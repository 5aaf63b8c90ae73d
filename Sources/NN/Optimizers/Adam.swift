import TensorCore
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Adam with PyTorch's `torch.optim.Adam` semantics (L2 weight decay added to the gradient).
///
/// For each parameter `p` with gradient `g`, at its own step `t` (1, 2, … counting only steps
/// at which it had a gradient):
/// ```
/// g = g + wd·p                                          (wd ≠ 0)
/// m = m + (1 − β₁)(g − m)          v = β₂·v + (1 − β₂)·g²
/// v̂ = amsgrad ? (vmax = max(vmax, v)) : v
/// p = p − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
/// ```
/// State: `state.<name>.exp_avg`, `.exp_avg_sq`, `.max_exp_avg_sq` (AMSGrad) and `.step`.
public final class Adam: AdamFamily {
    public init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, amsgrad: Bool = false) {
        super.init(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   amsgrad: amsgrad, decoupled: false)
    }

    /// Adam over `parameters`; `noWeightDecay` parameters get no decay unless `decayAll`.
    public convenience init(parameters: [NamedTensor], learningRate: Float = 1e-3, beta1: Float = 0.9,
                            beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                            decayAll: Bool = false, amsgrad: Bool = false) {
        self.init(groups: ParameterGroup.split(parameters, weightDecay: weightDecay, decayAll: decayAll),
                  learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad)
    }
}

/// AdamW with PyTorch's `torch.optim.AdamW` semantics: decoupled weight decay
/// `p ← p − lr·wd·p` (as `p·(1 − lr·wd)`) before the Adam update of ``Adam`` (which then has
/// no L2 term). PyTorch's default weight decay is 0.01.
public final class AdamW: AdamFamily {
    public init(groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, amsgrad: Bool = false) {
        super.init(groups: groups, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   amsgrad: amsgrad, decoupled: true)
    }

    /// AdamW over `parameters`; `noWeightDecay` parameters get no decay unless `decayAll`.
    public convenience init(parameters: [NamedTensor], learningRate: Float = 1e-3, beta1: Float = 0.9,
                            beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2,
                            decayAll: Bool = false, amsgrad: Bool = false) {
        self.init(groups: ParameterGroup.split(parameters, weightDecay: weightDecay, decayAll: decayAll),
                  learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad)
    }
}

/// What Adam and AdamW share: the hyperparameters, the state slots and the update, which differ
/// only in how weight decay enters (added to the gradient, or decoupled).
public class AdamFamily: ParameterOptimizer {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let amsgrad: Bool
    /// AdamW's decoupled decay `p ← p·(1 − lr·wd)` instead of Adam's `g + wd·p`.
    let decoupled: Bool

    init(groups: [ParameterGroup], learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
         amsgrad: Bool, decoupled: Bool) {
        checkAdamHyperparameters(beta1, beta2, epsilon)
        (self.beta1, self.beta2, self.epsilon, self.amsgrad, self.decoupled) = (beta1, beta2, epsilon, amsgrad, decoupled)
        super.init(groups: groups, learningRate: learningRate,
                   slotNames: adamSlotNames(amsgrad), perParameterStep: true)
    }

    override func applySingle(parameter: Tensor, gradient: Tensor, state: [Tensor], context: StepContext) {
        adamUpdate(parameter: parameter, gradient: gradient, state: state, context: context,
                   beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad, decoupled: decoupled)
    }
}

private func checkAdamHyperparameters(_ beta1: Float, _ beta2: Float, _ epsilon: Float) {
    precondition(beta1 >= 0 && beta1 < 1, "Adam: β₁ must be in [0, 1)")
    precondition(beta2 >= 0 && beta2 < 1, "Adam: β₂ must be in [0, 1)")
    precondition(epsilon >= 0, "Adam: ε must be non-negative")
}

private func adamSlotNames(_ amsgrad: Bool) -> [String] {
    amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"]
}

/// The shared in-place Adam/AdamW update. Scalars are formed in Double as PyTorch forms them
/// in Python, then rounded to Float; the element loop is plain Float arithmetic.
private func adamUpdate(parameter: Tensor, gradient: Tensor, state: [Tensor], context: StepContext,
                        beta1: Float, beta2: Float, epsilon: Float, amsgrad: Bool, decoupled: Bool) {
    let n = parameter.count
    let lrD = Double(context.learningRate), t = Double(context.step)
    let biasCorrection1 = 1 - pow(Double(beta1), t)
    let biasCorrection2 = 1 - pow(Double(beta2), t)
    let stepSize = Float(lrD / biasCorrection1)
    let bc2Sqrt = Float(biasCorrection2.squareRoot())
    let oneMinusB1 = 1 - beta1, b2 = beta2, oneMinusB2 = 1 - beta2, eps = epsilon
    let l2 = decoupled ? 0 : context.weightDecay
    let shrink = decoupled ? Float(1 - lrD * Double(context.weightDecay)) : 1
    parameter.withUnsafeMutableBufferPointer { pb in
    gradient.withUnsafeBufferPointer { gb in
    state[0].withUnsafeMutableBufferPointer { mb in
    state[1].withUnsafeMutableBufferPointer { vb in
        let p = pb.baseAddress!, g = gb.baseAddress!, m = mb.baseAddress!, v = vb.baseAddress!
        if amsgrad {
            state[2].withUnsafeMutableBufferPointer { xb in
                amsgradKernel(p, g, m, v, xb.baseAddress!, n, shrink, l2, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps)
            }
        } else {
            adamKernel(p, g, m, v, n, shrink, l2, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps)
        }
    }
    }
    }
    }
}

// The element loops take every scalar as a parameter (not a closure capture, which the
// optimiser must assume the stores may alias), so that they vectorise. `v` is never negative,
// so `v.magnitude.squareRoot()` equals `v.squareRoot()` (NaN stays NaN); the `magnitude` lets
// LLVM drop the errno branch of Linux's `sqrtf` and emit `sqrtps`.

private func adamKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                        _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                        _ shrink: Float, _ l2: Float, _ oneMinusB1: Float, _ b2: Float, _ oneMinusB2: Float,
                        _ stepSize: Float, _ bc2Sqrt: Float, _ eps: Float) {
    for j in 0..<n {
        let pj = p[j] * shrink  // AdamW's decoupled decay; 1 for Adam
        let gj = g[j] + l2 * pj
        let mj = m[j] + oneMinusB1 * (gj - m[j])
        let vj = b2 * v[j] + oneMinusB2 * gj * gj
        m[j] = mj; v[j] = vj
        p[j] = pj - stepSize * (mj / (vj.magnitude.squareRoot() / bc2Sqrt + eps))
    }
}

private func amsgradKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                           _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                           _ vmax: UnsafeMutablePointer<Float>, _ n: Int,
                           _ shrink: Float, _ l2: Float, _ oneMinusB1: Float, _ b2: Float, _ oneMinusB2: Float,
                           _ stepSize: Float, _ bc2Sqrt: Float, _ eps: Float) {
    for j in 0..<n {
        let pj = p[j] * shrink  // AdamW's decoupled decay; 1 for Adam
        let gj = g[j] + l2 * pj
        let mj = m[j] + oneMinusB1 * (gj - m[j])
        let vj = b2 * v[j] + oneMinusB2 * gj * gj
        let xj = vmax[j] >= vj ? vmax[j] : vj  // NaN in v propagates, as torch.maximum
        m[j] = mj; v[j] = vj; vmax[j] = xj
        p[j] = pj - stepSize * (mj / (xj.magnitude.squareRoot() / bc2Sqrt + eps))
    }
}
