import Testing
import Foundation
import TensorCore
import _TestSupport

/// The reverse-mode engine: accumulation, leaves, detaching, recording modes, intermediate
/// targets, graph depth and needsGrad pruning.
@Suite("Autodiff engine")
struct AutodiffEngineTests {
    @Test("fan-in: a tensor used three times accumulates three contributions")
    func fanIn() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let y = (x * x * x + x).sum()          // d/dx = 3x² + 1
        let g = gradients(of: y, wrt: [x])[0]
        expectClose(g, [4, 13, 28], shape: [3])
        let z = (exp(x) * x + square(x)).sum()   // x appears in exp, as a factor and in square
        let expected: [Float] = [1.0, 2.0, 3.0].map { (v: Double) -> Float in Float(Foundation.exp(v) * (v + 1) + 2 * v) }
        expectClose(gradients(of: z, wrt: [x])[0], expected, rtol: 1e-5)
    }

    @Test("the gradient of a scalar output defaults to a seed of one; an explicit seed scales it")
    func seeds() {
        let x = Tensor([1, -2]).requiringGrad()
        let y = square(x)
        expectClose(gradients(of: y, wrt: [x], seed: Tensor([1, 10]))[0], [2, -40])
        expectClose(gradients(of: y.sum(), wrt: [x], seed: Tensor(3))[0], [6, -12])
    }

    @Test("backward() accumulates into .grad across calls, for leaves only")
    func backwardAccumulates() {
        let w = Tensor([1, 2]).requiringGrad()
        let c = Tensor([5, 7])            // a constant: never gets a gradient
        #expect(w.grad == nil)
        let h = w * 3                      // an intermediate: no .grad either
        (h * c).sum().backward()
        expectClose(w.grad!, [15, 21])
        (square(w)).sum().backward()
        expectClose(w.grad!, [17, 25])
        #expect(c.grad == nil)
        #expect(h.grad == nil)
        #expect(w.grad!.requiresGrad == false, "without createGraph the stored gradient has no history")
        w.grad = nil
        square(w).sum().backward()
        expectClose(w.grad!, [2, 4])
    }

    @Test("backward(createGraph: true) keeps a differentiable .grad")
    func backwardCreateGraph() {
        let w = Tensor([1.5, -0.5]).requiringGrad()
        (w * w * w).sum().backward(createGraph: true)   // grad = 3w²
        let g = w.grad!
        #expect(g.requiresGrad)
        expectClose(gradients(of: g.sum(), wrt: [w])[0], [9, -3])   // 6w
    }

    @Test("the gradient of an unused input is zeros of its shape")
    func unusedInput() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let unused = Tensor([4, 5], shape: [2, 1]).requiringGrad()
        let grads = gradients(of: square(x).sum(), wrt: [x, unused])
        #expect(grads[1].shape == [2, 1])
        #expect(grads[1].scalars == [0, 0])
        // And when the output does not require gradients at all.
        let c = Tensor([1, 2])
        let none = gradients(of: c.sum(), wrt: [x])
        #expect(none[0].scalars == [0, 0, 0])
    }

    @Test("detached() stops gradients and shares values")
    func detachedStops() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let d = x.detached()
        #expect(!d.requiresGrad)
        #expect(d.isLeaf)
        #expect(d.scalars == x.scalars)
        let y = (x * square(x).detached()).sum()   // only the first factor carries a gradient
        expectClose(gradients(of: y, wrt: [x])[0], [1, 4, 9])
        let z = (x * 2).detached()
        #expect(!z.requiresGrad && z.node == nil)
    }

    @Test("withoutGrad records nothing")
    func withoutGradRecordsNothing() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let y = withoutGrad { exp(x * x).sum() + matmul(x.reshaped(to: [1, 3]), x.reshaped(to: [3, 1])).sum() }
        #expect(y.requiresGrad == false)
        #expect(y.node == nil)
        #expect(GradMode.isEnabled)
        withoutGrad {
            #expect(!GradMode.isEnabled)
            let inner = withGrad { square(x).sum() }
            #expect(inner.requiresGrad, "withGrad re-enables recording inside withoutGrad")
        }
        let recorded = square(x).sum()
        #expect(recorded.requiresGrad && recorded.node != nil)
        #expect(recorded.node?.op == .primitive(.sum))
    }

    @Test("results of constants do not require gradients")
    func constantsDoNotRecord() {
        let a = Tensor([1, 2]), b = Tensor([3, 4])
        let y = exp(a * b)
        #expect(!y.requiresGrad && y.node == nil)
    }

    @Test("gradients w.r.t. an intermediate tensor")
    func intermediateTarget() {
        let x = Tensor([1, 2]).requiringGrad()
        let h = x * x            // h = [1, 4]
        let y = (exp(h) * 2).sum()
        let grads = gradients(of: y, wrt: [h, x])
        let e1 = Float(Foundation.exp(1.0)), e4 = Float(Foundation.exp(4.0))
        expectClose(grads[0], [2 * e1, 2 * e4], rtol: 1e-6)
        expectClose(grads[1], [2 * e1 * 2 * 1, 2 * e4 * 2 * 2], rtol: 1e-6)
        // An intermediate alone, whose inputs are not requested.
        expectClose(gradients(of: y, wrt: [h])[0], [2 * e1, 2 * e4], rtol: 1e-6)
    }

    @Test("the gradient of a tensor w.r.t. itself is the seed; repeated targets get the same gradient")
    func selfAndRepeatedTargets() {
        let x = Tensor([1, 2]).requiringGrad()
        let y = square(x).sum()
        #expect(gradients(of: y, wrt: [y])[0].scalars == [1])
        let grads = gradients(of: y, wrt: [x, x])
        #expect(grads[0].scalars == [2, 4] && grads[1].scalars == [2, 4])
    }

    @Test("ties: maximum and minimum send the gradient to the first operand")
    func tieRouting() {
        let a = Tensor([1, 2]).requiringGrad(), b = Tensor([1, 3]).requiringGrad()
        let gmax = gradients(of: maximum(a, b).sum(), wrt: [a, b])
        #expect(gmax[0].scalars == [1, 0] && gmax[1].scalars == [0, 1])
        let gmin = gradients(of: minimum(a, b).sum(), wrt: [a, b])
        #expect(gmin[0].scalars == [1, 1] && gmin[1].scalars == [0, 0])
    }

    @Test("pow with a non-positive base: ∂/∂b is 0 there, ∂/∂a is finite for integer exponents")
    func powNonPositiveBase() {
        let a = Tensor([-2, 0, 2]).requiringGrad(), b = Tensor([2, 3, 2]).requiringGrad()
        let y = pow(a, b)
        #expect(y.scalars == [4, 0, 4])
        let g = gradients(of: y.sum(), wrt: [a, b])
        #expect(g[0].scalars == [-4, 0, 4])
        #expect(g[1].isFinite)
        #expect(g[1].scalars[0] == 0 && g[1].scalars[1] == 0)
        #expect(Swift.abs(g[1].scalars[2] - 4 * Float(Foundation.log(2.0))) < 1e-5)
    }

    @Test("createGraph: false gives results without history; true gives differentiable ones")
    func createGraphFlag() {
        let x = Tensor([0.5, -1]).requiringGrad()
        let y = (x * x * x).sum()
        let plain = gradients(of: y, wrt: [x])[0]
        #expect(!plain.requiresGrad)
        #expect(plain.node == nil)
        let recorded = gradients(of: y, wrt: [x], createGraph: true)[0]
        #expect(recorded.requiresGrad)
        #expect(recorded.node != nil)
        expectClose(recorded, [0.75, 3])
        expectClose(gradients(of: recorded.sum(), wrt: [x])[0], [3, -6])   // 6x
        // createGraph: true works inside a withoutGrad scope too.
        let inside = withoutGrad { gradients(of: y, wrt: [x], createGraph: true)[0] }
        #expect(inside.requiresGrad)
    }

    @Test("a chain of 5000 operations neither overflows the stack nor loses accuracy")
    func deepChain() {
        // In-process, on whatever thread Swift Testing uses; the small-stack variant below is
        // stricter (it also covers releasing the graph).
        let x = Tensor([0.5, -0.25]).requiringGrad()
        var y = x
        for _ in 0..<5000 { y = y * 1.0001 }
        let g = gradients(of: y.sum(), wrt: [x])[0]
        let expected = Float(Foundation.pow(1.0001, 5000.0))
        expectClose(g, [expected, expected], rtol: 1e-3)
        y.sum().backward()
        expectClose(x.grad!, [expected, expected], rtol: 1e-3)
        // Mixed ops and a second-order pass over the deep graph.
        var z = x
        for i in 0..<2500 { z = i % 2 == 0 ? z + 0.001 : tanh(z) }
        let h = hvp(of: z.sum(), wrt: x, along: Tensor([1, 0]))
        #expect(h.isFinite)
    }

    /// KNOWN BUG (reported): the backward walk is iterative, but releasing a graph is not: the
    /// last reference to the output frees its Node, whose `inputs` array frees the previous
    /// tensor, whose Node … — one nested `deinit` chain per recorded op. A 5000-op graph then
    /// needs more than 1 MB of stack in a debug build (about 20 000 ops overflow even 8 MB).
    /// Secondary threads get 512 KB by default on macOS (and Swift concurrency threads are
    /// small there too), so the chain is built, differentiated and released on such a thread,
    /// in a child process so that the crash fails only this test.
    @Test("a 5000-op graph can be differentiated and released on a 512 KB-stack thread")
    func deepChainOnSmallStack() async {
        await #expect(processExitsWith: .success) {
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                do {
                    let x = Tensor([0.5, -0.25]).requiringGrad()
                    var y = x
                    for _ in 0..<5000 { y = y * 1.0001 }
                    let g = gradients(of: y.sum(), wrt: [x])[0]
                    precondition(g.isFinite)
                }   // the graph is released here
                done.signal()
            }
            thread.stackSize = 512 << 10
            thread.start()
            done.wait()
        }
    }

    @Test("asking only for ∂/∂x does not invoke the weight part of a rule")
    func needsGradPruning() {
        final class Log: @unchecked Sendable { var calls: [[Bool]] = [] }
        let log = Log()
        let x = Tensor([1, 2, 3]).requiringGrad()
        let w = Tensor([4, 5, 6]).requiringGrad()
        func op(_ x: Tensor, _ w: Tensor) -> Tensor {
            let value = withoutGrad { x.detached() * w.detached() }
            return Tensor.differentiable(value, op: "loggedMultiply", inputs: [x, w]) { c in
                log.calls.append(c.needsGrad)
                return [c.needsGrad[0] ? c.gradOutput * c.inputs[1] : nil,
                        c.needsGrad[1] ? c.gradOutput * c.inputs[0] : nil]
            }
        }
        let y = square(op(x, w)).sum()
        let gx = gradients(of: y, wrt: [x])[0]
        #expect(log.calls == [[true, false]])
        expectClose(gx, [32, 100, 216])      // 2·x·w²
        log.calls = []
        _ = gradients(of: y, wrt: [w])
        #expect(log.calls == [[false, true]])
        log.calls = []
        _ = gradients(of: y, wrt: [x, w])
        #expect(log.calls == [[true, true]])
        // A rule below which nothing requested lies is not called at all.
        log.calls = []
        let other = Tensor([1, 1, 1]).requiringGrad()
        _ = gradients(of: (square(op(x, w)) * other).sum(), wrt: [other])
        #expect(log.calls.isEmpty)
        // backward() asks for every leaf that requires gradients.
        log.calls = []
        y.backward()
        #expect(log.calls == [[true, true]])
    }

    @Test("hvp of a function linear in x is zeros; valueWithGradient matches gradients")
    func hvpAndValueWithGradient() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let linear = (x * Tensor([2, 3, 4])).sum()
        #expect(hvp(of: linear, wrt: x, along: Tensor([1, 1, 1])).scalars == [0, 0, 0])
        let (value, grad) = valueWithGradient(at: Tensor([1, 2, 3])) { square($0).sum() }
        #expect(value.item == 14)
        expectClose(grad, [2, 4, 6])
        let (_, constGrad) = valueWithGradient(at: Tensor([1, 2])) { _ in Tensor(3) }
        #expect(constGrad.scalars == [0, 0])
    }

    @Test("operations never mutate their operands")
    func operandsUnchanged() {
        let a = Fixtures.normal([2, 3], seed: 161).requiringGrad()
        let before = a.scalars
        let y = (softplus(a, beta: 2) * exp(a)).sum()
        _ = gradients(of: y, wrt: [a], createGraph: true)
        _ = hvp(of: y, wrt: a, along: Tensor.ones([2, 3]))
        #expect(a.scalars == before)
    }
}
