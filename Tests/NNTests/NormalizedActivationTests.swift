import Testing
import NN
import TensorCore
import _TestSupport

/// A batch norm followed by a softplus runs as one fused operation (`normalizedActivation`,
/// `Sequential`); the layers must end up exactly as if applied in turn: same output, same
/// parameter gradients (β and γ included), same running statistics, batches tracked and widths.
@Suite("Batch norm and softplus layers, fused")
struct NormalizedActivationTests {
    /// Two identically initialised (norm, activation) pairs of each combination.
    static func pairs(_ kind: Int) -> (norm: any Layer, activation: any Layer) {
        switch kind {
        case 0: return (BatchNorm(features: 3), Softplus(beta: 10))
        case 1: return (BatchNorm(features: 3), CenteredSoftplus(initialBeta: 3))
        case 2: return (LipschitzBatchNorm(features: 3, initialGamma: 2), CenteredSoftplus(initialBeta: 5))
        default: return (LipschitzBatchNorm(features: 3), Softplus(beta: 2))
        }
    }

    static func state(_ layers: [any Layer]) -> [(String, Tensor)] {
        layers.enumerated().flatMap { i, layer in layer.namedTensors.map { ("\(i).\($0.name)", $0.tensor) } }
    }

    static func expectSame(_ a: Tensor?, _ b: Tensor?, _ what: String) {
        guard let a, let b else { #expect(a == nil && b == nil, "\(what): one is missing"); return }
        let error = zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
        let scale = Swift.max(1, b.scalars.map(Swift.abs).max() ?? 1)
        #expect(a.shape == b.shape && error <= 1e-4 * scale, "\(what): max difference \(error)")
    }

    @Test("fused and layer-by-layer agree in training and evaluation", arguments: 0..<4)
    func fusedEqualsLayers(_ kind: Int) {
        let (fusedNorm, fusedAct) = Self.pairs(kind), (norm, act) = Self.pairs(kind)
        let sequential = Sequential([fusedNorm, fusedAct])
        let x = Fixtures.normal([4, 3, 5, 5], seed: 3), g = Fixtures.normal([4, 3, 5, 5], seed: 4)
        for phase in 0..<3 {   // two training steps (running statistics move), then evaluation
            let run: (() -> Tensor) -> Tensor = { phase < 2 ? training($0) : inference($0) }
            let a = run { sequential(x) }, b = run { act(norm(x)) }
            Self.expectSame(a, b, "output, phase \(phase)")
            for layer in [fusedNorm, fusedAct, norm, act] { Self.state([layer]).forEach { $0.1.grad = nil } }
            (a * g).sum().backward()
            (b * g).sum().backward()
            for ((name, s), (_, t)) in zip(Self.state([fusedNorm, fusedAct]), Self.state([norm, act])) {
                Self.expectSame(s, t, "\(name), phase \(phase)")
                Self.expectSame(s.grad, t.grad, "∂\(name), phase \(phase)")
            }
        }
        let widths = [fusedAct, act].map { ($0 as? Softplus)?.lastWidth ?? ($0 as? CenteredSoftplus)?.lastWidth }
        #expect(widths[0] == 75 && widths[1] == 75)
    }

    @Test("normalizedActivation without a norm, or with another activation, applies the layers")
    func fallbacks() {
        let x = Fixtures.normal([4, 3], seed: 5)
        let act = Softplus(beta: 3)
        Self.expectSame(normalizedActivation(nil, act, x), act(x), "no norm")
        let norm = BatchNorm(features: 3)
        Self.expectSame(training { normalizedActivation(norm, ReLU(), x) }, relu(training { BatchNorm(features: 3)(x) }), "ReLU")
    }
}
