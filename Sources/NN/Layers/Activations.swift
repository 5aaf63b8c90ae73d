import TensorCore

/// ReLU, `max(x, 0)`.
public final class ReLU: Layer {
    /// Units per sample seen by the last forward pass (for the curvature bound).
    public private(set) var lastWidth = 0
    public init() {}
    public func callAsFunction(_ x: Tensor) -> Tensor { lastWidth = x.sampleWidth; return relu(x) }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Softplus with a fixed β, `log(1 + e^{βx})/β` (SPEC B1). The Standard baseline uses
/// β = 1000 (ReLU-like with defined curvature); softplus + weight decay uses β = 10.
public final class Softplus: Layer, SoftplusLayer {
    public let beta: Float
    public init(beta: Float) {
        precondition(beta > 0, "Softplus: β must be positive")
        self.beta = beta
    }
    /// Units per sample seen by the last forward pass (for the curvature bound).
    public private(set) var lastWidth = 0
    public func callAsFunction(_ x: Tensor) -> Tensor { softplus(x, softplusArguments(for: x)) }
    func softplusArguments(for x: Tensor) -> SoftplusArguments {
        lastWidth = x.sampleWidth
        return SoftplusArguments(beta: Tensor(beta), centered: false)
    }
    public func visit(_ v: inout TensorVisitor) {}
}

/// Centered softplus with a learnable β (paper §3, eq. 2; SPEC B2):
/// `s₀(x; β) = (log(1 + e^{βx}) − log 2)/β`, so s₀(0) = 0, s₀ → x/2 as β → 0 and → ReLU as
/// β → ∞. Its curvature is at most β/4 ≤ β (eq. 3). One scalar β per layer, stored as
/// `log_beta` (so β > 0), initialised to β = 5 as in the authors' code.
public final class CenteredSoftplus: Layer, SoftplusLayer {
    /// log β, trainable.
    public let logBeta: Tensor
    public init(initialBeta: Float = 5) {
        precondition(initialBeta > 0, "CenteredSoftplus: β must be positive")
        logBeta = Tensor(scalarLog(initialBeta)).requiringGrad()
    }
    /// The current β = exp(log β).
    public var beta: Float { scalarExp(logBeta.item) }
    /// Units per sample seen by the last forward pass (for the curvature bound).
    public private(set) var lastWidth = 0
    public func callAsFunction(_ x: Tensor) -> Tensor { softplus(x, softplusArguments(for: x)) }
    func softplusArguments(for x: Tensor) -> SoftplusArguments {
        lastWidth = x.sampleWidth
        return SoftplusArguments(beta: exp(logBeta), centered: true)
    }
    public func visit(_ v: inout TensorVisitor) { v.parameter("log_beta", logBeta, noWeightDecay: true) }
}

/// Parametric swish with a learnable β, `x·σ(βx)` (`000_4a4331a2d5960031.txt`; SPEC B3),
/// stored as `log_beta` like ``CenteredSoftplus``, offered for comparison with it.
public final class ParametricSwish: Layer {
    public let logBeta: Tensor
    public init(initialBeta: Float = 5) {
        precondition(initialBeta > 0, "ParametricSwish: β must be positive")
        logBeta = Tensor(scalarLog(initialBeta)).requiringGrad()
    }
    public var beta: Float { scalarExp(logBeta.item) }
    /// Units per sample seen by the last forward pass (for the curvature bound).
    public private(set) var lastWidth = 0
    public func callAsFunction(_ x: Tensor) -> Tensor {
        lastWidth = x.sampleWidth
        return x * scaledSigmoid(x, beta: exp(logBeta))
    }
    public func visit(_ v: inout TensorVisitor) { v.parameter("log_beta", logBeta, noWeightDecay: true) }
}


extension Tensor {
    /// Elements per sample (everything but the first axis).
    var sampleWidth: Int { rank == 0 ? 1 : count / Swift.max(shape[0], 1) }
}
