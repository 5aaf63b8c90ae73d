import Testing
import TensorCore
import TensorKernels
import _TestSupport
@testable import NN

/// `PowerIterationsAhead`: a model's training forward runs its spectrally normalised
/// convolutions' power-iteration steps first, two layers at a time on one kernel thread each.
/// The result must be the layer-by-layer one: the same u, v, output and weight gradients as a
/// forward that iterates inline (one kernel thread, where the schedule stands aside), one step
/// per layer per forward, nested models included.
@Suite("power iterations ahead")
struct PowerIterationsAheadTests {
    /// Three spectrally normalised convolutions of different sizes (a 1×1, a strided one).
    final class Chain: Layer {
        let convs: [SpectralNormConv2d]
        let nestedSchedule: Bool

        init(seed: UInt64, nestedSchedule: Bool = false) {
            var g = SeededGenerator(seed: seed)
            convs = [SpectralNormConv2d(inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, inputSize: (6, 6), generator: &g),
                     SpectralNormConv2d(inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, bias: false,
                                        inputSize: (6, 6), generator: &g),
                     SpectralNormConv2d(inChannels: 16, outChannels: 4, kernelSize: 1, inputSize: (3, 3), generator: &g)]
            self.nestedSchedule = nestedSchedule
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            PowerIterationsAhead.run(convs) {
                let forward = { self.convs.reduce(x) { tanh($1($0)) } }
                return nestedSchedule ? PowerIterationsAhead.run(convs, forward) : forward()
            }
        }

        func visit(_ v: inout TensorVisitor) { v.children(convs) }
    }

    /// Two training forwards (and the first one's weight gradients) with `threads` kernel threads.
    static func run(_ model: Chain, threads: Int) -> (outputs: [[Float]], gradients: [[Float]]) {
        KernelSettings.with({ $0.threads = threads }) {
            let x = Fixtures.normal([2, 3, 6, 6], seed: 11)
            let first = training { model(x) }
            let gradients = gradients(of: (first * Fixtures.normal(first.shape, seed: 12)).sum(),
                                      wrt: model.convs.map(\.weight)).map(\.scalars)
            let second = training { model(x) }
            return ([first.scalars, second.scalars], gradients)
        }
    }

    @Test("the same u, v, outputs and weight gradients as iterating layer by layer, nested or not",
          arguments: [false, true])
    func matchesInline(nested: Bool) {
        let ahead = Chain(seed: 5, nestedSchedule: nested), inline = Chain(seed: 5)
        let a = Self.run(ahead, threads: 2), b = Self.run(inline, threads: 1)
        for (x, y) in zip(a.outputs + a.gradients, b.outputs + b.gradients) {
            let scale = y.reduce(Float(0)) { max($0, abs($1)) }
            #expect(zip(x, y).allSatisfy { abs($0 - $1) <= 1e-5 * max(scale, 1) })
        }
        for (p, q) in zip(ahead.convs, inline.convs) {
            #expect(zip(p.u.scalars, q.u.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
            #expect(zip(p.v.scalars, q.v.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
            #expect(p.ahead == nil)
        }
    }

    @Test("a step per layer per forward: two forwards move u as two steps do, and evaluation moves nothing")
    func oneStepPerForward() {
        let model = Chain(seed: 6)
        let reference = Chain(seed: 6)
        _ = Self.run(model, threads: 2)
        for conv in reference.convs { conv.iterate(2) }
        for (p, q) in zip(model.convs, reference.convs) {
            #expect(zip(p.u.scalars, q.u.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
        let before = model.convs.map(\.u.scalars)
        _ = KernelSettings.with({ $0.threads = 2 }) { model.predict(Fixtures.normal([1, 3, 6, 6], seed: 13)) }
        #expect(model.convs.map(\.u.scalars) == before)
    }
}
