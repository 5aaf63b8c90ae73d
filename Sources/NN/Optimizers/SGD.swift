import TensorCore

/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics.
///
/// For each parameter `p` with gradient `g`, at effective learning rate `lr`:
/// ```
/// d = g + wd·p                                   (wd ≠ 0)
/// buf = d                        at the first step (momentum μ ≠ 0)
/// buf = μ·buf + (1 − dampening)·d  afterwards
/// d = nesterov ? d + μ·buf : buf
/// p = p − lr·d
/// ```
/// State: `state.<name>.momentum_buffer` when μ ≠ 0. The paper's setting (SPEC T8) is
/// `SGD(parameters: model.namedParameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)`.
public final class SGD: ParameterOptimizer {
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool

    /// SGD over explicit parameter groups (each with its own weight decay).
    public init(groups: [ParameterGroup], learningRate: Float, momentum: Float = 0,
                dampening: Float = 0, nesterov: Bool = false) {
        precondition(momentum >= 0, "SGD: momentum must be non-negative")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "SGD: Nesterov momentum requires a positive momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(groups: groups, learningRate: learningRate,
                   slotNames: momentum != 0 ? ["momentum_buffer"] : [], perParameterStep: false)
    }

    /// SGD over `parameters` (typically `model.namedParameters`). Parameters marked
    /// `noWeightDecay` get no weight decay unless `decayAll` (see ``ParameterGroup/split(_:weightDecay:decayAll:)``).
    public convenience init(parameters: [NamedTensor], learningRate: Float, momentum: Float = 0,
                            dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0,
                            decayAll: Bool = false) {
        self.init(groups: ParameterGroup.split(parameters, weightDecay: weightDecay, decayAll: decayAll),
                  learningRate: learningRate, momentum: momentum, dampening: dampening, nesterov: nesterov)
    }

    override func applySingle(parameter: Tensor, gradient: Tensor, state: [Tensor], context: StepContext) {
        let n = parameter.count
        let lr = context.learningRate, wd = context.weightDecay
        let mu = momentum, keep = 1 - dampening, fresh = context.freshState, nesterov = nesterov
        parameter.withUnsafeMutableBufferPointer { pb in
            gradient.withUnsafeBufferPointer { gb in
                let p = pb.baseAddress!, g = gb.baseAddress!
                guard mu != 0 else { return sgdPlainKernel(p, g, n, lr, wd) }
                state[0].withUnsafeMutableBufferPointer { bb in
                    let b = bb.baseAddress!
                    switch (fresh, nesterov) {
                    case (true, false): sgdFirstKernel(p, g, b, n, lr, wd, 0)
                    case (true, true): sgdFirstKernel(p, g, b, n, lr, wd, mu)
                    case (false, false): sgdMomentumKernel(p, g, b, n, lr, wd, mu, keep)
                    case (false, true): sgdNesterovKernel(p, g, b, n, lr, wd, mu, keep)
                    }
                }
            }
        }
    }
}

// The element loops take every scalar as a parameter (not a closure capture, which the
// optimiser must assume the stores may alias), so that they vectorise.

/// `p −= lr·(g + wd·p)`.
private func sgdPlainKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int,
                            _ lr: Float, _ wd: Float) {
    for j in 0..<n { p[j] -= lr * (g[j] + wd * p[j]) }
}

/// First momentum step: `buf = d`, `p −= lr·(d + μₙ·d)` with μₙ = μ for Nesterov, 0 otherwise.
private func sgdFirstKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                            _ b: UnsafeMutablePointer<Float>, _ n: Int, _ lr: Float, _ wd: Float, _ muN: Float) {
    if muN == 0 {
        for j in 0..<n {
            let d = g[j] + wd * p[j]
            b[j] = d
            p[j] -= lr * d
        }
    } else {
        for j in 0..<n {
            let d = g[j] + wd * p[j]
            b[j] = d
            p[j] -= lr * (d + muN * d)
        }
    }
}

/// `buf = μ·buf + (1 − dampening)·d`, `p −= lr·buf`.
private func sgdMomentumKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                               _ b: UnsafeMutablePointer<Float>, _ n: Int,
                               _ lr: Float, _ wd: Float, _ mu: Float, _ keep: Float) {
    for j in 0..<n {
        let d = g[j] + wd * p[j]
        let buf = mu * b[j] + keep * d
        b[j] = buf
        p[j] -= lr * buf
    }
}

/// `buf = μ·buf + (1 − dampening)·d`, `p −= lr·(d + μ·buf)`.
private func sgdNesterovKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                               _ b: UnsafeMutablePointer<Float>, _ n: Int,
                               _ lr: Float, _ wd: Float, _ mu: Float, _ keep: Float) {
    for j in 0..<n {
        let d = g[j] + wd * p[j]
        let buf = mu * b[j] + keep * d
        b[j] = buf
        p[j] -= lr * (d + mu * buf)
    }
}
