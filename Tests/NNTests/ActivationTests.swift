import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// The activation layers (SPEC B1–B3): softplus with a fixed β, centered softplus with a
/// learnable β, parametric swish, ReLU.
@Suite("Activations")
struct ActivationTests {
    /// Points on `t = βx ∈ [−8, 8]` (0 included), as x values for a given β.
    static func grid(beta: Float, count: Int = 161) -> [Float] {
        (0..<count).map { Float(-8 + 16 * Double($0) / Double(count - 1)) / beta }
    }

    // MARK: B1 softplus

    @Test("Softplus(β): log(1 + e^{βx})/β, stable for large |βx|, ReLU-like at β = 1000")
    func softplusFixedBeta() {
        for beta: Float in [1, 10, 1000] {
            let layer = Softplus(beta: beta)
            let xs: [Float] = [-100, -5, -0.5, -0.01, 0, 0.003, 0.5, 5, 100]
            let y = layer(Tensor(xs))
            let expected = xs.map { x -> Double in
                let t = Double(beta) * Double(x)
                return (Swift.max(t, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(t)))) / Double(beta)
            }
            #expect(y.isFinite)
            NNTestKit.expectClose(y.scalars, expected, rtol: 1e-5, atol: 1e-6, "softplus β=\(beta)")
            #expect(layer.namedTensors.isEmpty, "fixed β is not a parameter")
        }
        // β = 1000: within log 2/β of ReLU everywhere.
        let x = Tensor(Self.grid(beta: 1000) + [-3, -1, 1, 3])
        let y = Softplus(beta: 1000)(x)
        for (a, b) in zip(y.scalars, x.scalars) { #expect(Swift.abs(a - Swift.max(b, 0)) <= Float(log(2.0)) / 1000 + 1e-6) }
    }

    // MARK: B2 centered softplus

    @Test("Centered softplus starts at β = 5, stores log β as the only (no-weight-decay) parameter")
    func centeredSoftplusParameters() {
        let a = CenteredSoftplus()
        #expect(Swift.abs(a.beta - 5) <= 5e-6)
        #expect(Swift.abs(a.logBeta.item - Float(log(5.0))) <= 1e-6)
        #expect(a.logBeta.requiresGrad && a.logBeta.shape == [])
        #expect(a.namedTensors.count == 1)
        #expect(a.namedTensors[0].name == "log_beta" && a.namedTensors[0].tensor === a.logBeta)
        #expect(a.namedTensors[0].role == .parameter && a.namedTensors[0].noWeightDecay)
        #expect(Swift.abs(CenteredSoftplus(initialBeta: 0.25).beta - 0.25) <= 1e-6)
    }

    @Test("Centered softplus: s₀(x) = (log(1 + e^{βx}) − log 2)/β and s₀(0) = 0", arguments: [1e-3, 0.1, 1, 5, 100, 1e4] as [Float])
    func centeredSoftplusValues(beta: Float) {
        let a = CenteredSoftplus(initialBeta: beta)
        let zero = a(Tensor([0, 0, 0]))
        #expect(zero.scalars.allSatisfy { Swift.abs($0) <= 1e-7 }, "s₀(0) = \(zero.scalars)")
        let xs = Self.grid(beta: beta) + [-2, -0.7, 0.3, 2]
        let y = a(Tensor(xs))
        let b = Double(a.beta)
        let expected = xs.map { x -> Double in
            let t = b * Double(x)
            return (Swift.max(t, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(t))) - Foundation.log(2.0)) / b
        }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-4, atol: 2e-6 / Swift.min(Double(beta), 1), "s₀ β=\(beta)")
    }

    @Test("Centered softplus limits: β → 0 gives x/2, β → ∞ gives ReLU")
    func centeredSoftplusLimits() {
        let xs = (0...40).map { Float(-2 + 0.1 * Double($0)) }
        // β = 1e-3: s₀(x) = x/2 + βx²/8 + O(β³x⁴), so |s₀ − x/2| ≤ 1e-3·4/8 = 5e-4 on |x| ≤ 2.
        let small = CenteredSoftplus(initialBeta: 1e-3)(Tensor(xs))
        for (y, x) in zip(small.scalars, xs) { #expect(Swift.abs(y - x / 2) <= 6e-4, "x = \(x): \(y)") }
        // β = 1e4: within log 2/β ≈ 7e-5 of ReLU.
        let large = CenteredSoftplus(initialBeta: 1e4)(Tensor(xs))
        for (y, x) in zip(large.scalars, xs) { #expect(Swift.abs(y - Swift.max(x, 0)) <= 1e-4, "x = \(x): \(y)") }
    }

    @Test("Centered softplus curvature (double backprop): s₀'' = βσ(1−σ) ≤ β/4 with the maximum at 0; |s₀''/s₀'| ≤ β (eq. 3)",
          arguments: [0.5, 5, 50] as [Float])
    func centeredSoftplusCurvature(beta: Float) {
        let a = CenteredSoftplus(initialBeta: beta)
        let b = Double(a.beta)
        let xs = Self.grid(beta: beta)
        let x = Tensor(xs).requiringGrad()
        let y = a(x).sum()
        // Elementwise activation: the Hessian is diagonal, so the HVP along ones is s₀''(xᵢ).
        let second = hvp(of: y, wrt: x, along: x.onesLike()).scalars
        let first = gradients(of: a(x).sum(), wrt: [x])[0].scalars
        // Nested gradients give the same second derivative.
        let g = gradients(of: a(x).sum(), wrt: [x], createGraph: true)[0]
        let nested = gradients(of: g.sum(), wrt: [x])[0].scalars
        NNTestKit.expectClose(nested, second.map(Double.init), rtol: 1e-5, atol: 1e-7 * b, "nested vs hvp")

        let sig = xs.map { NNTestKit.sigmoid(b * Double($0)) }
        NNTestKit.expectClose(first, sig, rtol: 1e-4, atol: 1e-6, "s₀' = σ(βx)")
        NNTestKit.expectClose(second, sig.map { b * $0 * (1 - $0) }, rtol: 1e-3, atol: 1e-6 * b, "s₀'' = βσ(1−σ)")
        let peak = second.max()!
        #expect(second.allSatisfy { Double($0) <= b / 4 * (1 + 1e-5) }, "max s₀'' = \(peak), β/4 = \(b / 4)")
        #expect(NNTestKit.relativelyClose(Double(peak), b / 4, 1e-4))
        #expect(second[xs.firstIndex(of: 0)!] == peak, "maximum at x = 0")
        for i in xs.indices {
            let normalized = Swift.abs(Double(second[i]) / Double(first[i]))
            #expect(normalized <= b * (1 + 1e-4), "|s''/s'| = \(normalized) at x = \(xs[i])")
            #expect(NNTestKit.relativelyClose(normalized, b * (1 - sig[i]), 1e-3), "|s''/s'| = β(1 − σ(βx))")
        }
    }

    @Test("Centered softplus: gradients w.r.t. x (first and second order) and w.r.t. log β match finite differences")
    func centeredSoftplusGradients() {
        let a = CenteredSoftplus(initialBeta: 2)
        let x = Fixtures.normal([3, 4], seed: 31)
        let checker = GradCheck()
        let first = checker.firstOrder([x]) { a($0[0]) }
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = checker.secondOrder([x]) { a($0[0]) }
        #expect(GradCheck.allPassed(second), "\(second)")

        // ∂/∂log β of Σ w·s₀(x) = Σ w·(x·σ(βx) − s₀(x)), checked three ways.
        let w = Fixtures.normal([3, 4], seed: 32)
        let analytic = gradients(of: (a(x) * w).sum(), wrt: [a.logBeta])[0].item
        let numeric = NNTestKit.numericGradient(of: a.logBeta) { (a(x) * w).sum().item }[0]
        let b = Double(a.beta)
        let formula = zip(x.scalars, w.scalars).reduce(0.0) { acc, p in
            let (xv, wv) = (Double(p.0), Double(p.1))
            let s0 = (Foundation.log1p(Foundation.exp(b * xv)) - Foundation.log(2.0)) / b
            return acc + wv * (xv * NNTestKit.sigmoid(b * xv) - s0)
        }
        #expect(analytic != 0)
        #expect(Swift.abs(Double(analytic) - formula) <= 1e-4 * Swift.abs(formula) + 1e-6, "analytic \(analytic), formula \(formula)")
        #expect(Swift.abs(analytic - numeric) <= 1e-2 * Swift.abs(numeric) + 1e-3, "analytic \(analytic), numeric \(numeric)")
        // backward() accumulates it into logBeta.grad.
        (a(x) * w).sum().backward()
        #expect(Swift.abs((a.logBeta.grad?.item ?? 0) - analytic) <= 1e-6 * Swift.abs(analytic))
    }

    // MARK: B3 parametric swish

    @Test("Parametric swish: x·σ(βx), β stored as log β (init 5)")
    func swishValues() {
        let s = ParametricSwish()
        #expect(Swift.abs(s.beta - 5) <= 5e-6)
        #expect(s.namedTensors.map(\.name) == ["log_beta"] && s.namedTensors[0].noWeightDecay)
        for beta: Float in [0.5, 1.7, 20] {
            let layer = ParametricSwish(initialBeta: beta)
            let xs = Self.grid(beta: beta) + [-3, -1, 1, 3]
            let b = Double(layer.beta)
            NNTestKit.expectClose(layer(Tensor(xs)).scalars, xs.map { Double($0) * NNTestKit.sigmoid(b * Double($0)) },
                                  rtol: 1e-5, atol: 1e-6, "swish β=\(beta)")
        }
    }

    @Test("Parametric swish: gradients w.r.t. x and log β match finite differences")
    func swishGradients() {
        let s = ParametricSwish(initialBeta: 1.5)
        let x = Fixtures.normal([2, 5], seed: 41)
        let reports = GradCheck().firstOrder([x]) { s($0[0]) }
        #expect(GradCheck.allPassed(reports), "\(reports)")
        let second = GradCheck().secondOrder([x]) { s($0[0]) }
        #expect(GradCheck.allPassed(second), "\(second)")
        // GradCheck of the same function written with log β as an input.
        let lb = GradCheck().firstOrder([x, s.logBeta.detached()]) { a in a[0] * sigmoid(a[0] * exp(a[1])) }
        #expect(GradCheck.allPassed(lb), "\(lb)")
        // The layer's own log β gradient: Σ w·x²·β·σ(1−σ), and central differences.
        let w = Fixtures.normal([2, 5], seed: 42)
        let analytic = gradients(of: (s(x) * w).sum(), wrt: [s.logBeta])[0].item
        let numeric = NNTestKit.numericGradient(of: s.logBeta) { (s(x) * w).sum().item }[0]
        let b = Double(s.beta)
        let formula = zip(x.scalars, w.scalars).reduce(0.0) { acc, p in
            let (xv, wv) = (Double(p.0), Double(p.1))
            let sg = NNTestKit.sigmoid(b * xv)
            return acc + wv * xv * xv * b * sg * (1 - sg)
        }
        #expect(Swift.abs(Double(analytic) - formula) <= 1e-4 * Swift.abs(formula) + 1e-6, "analytic \(analytic), formula \(formula)")
        #expect(Swift.abs(analytic - numeric) <= 1e-2 * Swift.abs(numeric) + 1e-3, "analytic \(analytic), numeric \(numeric)")
    }

    @Test("Parametric swish: slope ≤ 1.0998 and |second derivative| ≤ β/2 (the constants the curvature bound uses)")
    func swishConstants() {
        for beta: Float in [0.5, 5, 50] {
            let s = ParametricSwish(initialBeta: beta)
            let x = Tensor((0..<4001).map { Float(-10 + 20 * Double($0) / 4000) / beta }).requiringGrad()
            let slope = gradients(of: s(x).sum(), wrt: [x])[0].scalars
            let curvature = hvp(of: s(x).sum(), wrt: x, along: x.onesLike()).scalars
            let maxSlope = slope.max()!
            #expect(maxSlope <= 1.0998 + 1e-4 && maxSlope >= 1.099, "max slope \(maxSlope)")
            let maxCurv = curvature.map { Swift.abs($0) }.max()!
            #expect(Double(maxCurv) <= Double(s.beta) / 2 * (1 + 1e-4), "max |s''| \(maxCurv), β/2 = \(s.beta / 2)")
            #expect(NNTestKit.relativelyClose(Double(maxCurv), Double(s.beta) / 2, 1e-3))
        }
    }

    // MARK: ReLU and widths

    @Test("ReLU values and the per-sample width recorded for the curvature bound")
    func reluAndWidths() {
        let r = ReLU()
        #expect(r(Tensor([-1, 0, 2])).scalars == [0, 0, 2])
        _ = r(Tensor.zeros([3, 2, 4, 5]))
        #expect(r.lastWidth == 40)
        let c = CenteredSoftplus()
        _ = c(Tensor.zeros([7, 6]))
        #expect(c.lastWidth == 6)
        let p = Softplus(beta: 10)
        _ = p(Tensor.zeros([1, 3, 2, 2]))
        #expect(p.lastWidth == 12)
        let s = ParametricSwish()
        _ = s(Tensor.zeros([2, 9]))
        #expect(s.lastWidth == 9)
    }
}
