import Testing
import Foundation
import TensorCore
import _TestSupport

/// Forward accuracy over wide input ranges against Double references.
///
/// Softplus acceptance criterion (β constant, z = βx swept over ±[1e-8, 1e4] log-spaced, plus 0):
/// the reference is evaluated in Double at the exact z = Double(β)·Double(x) of the Float input.
/// * Not centered: relative error ≤ 1e-5 wherever |y_ref| ≥ 1e-30 (y_ref is then a normal Float
///   with eight decades to spare, so full relative accuracy is achievable: the only
///   unavoidable error is the rounding of z = βx in Float, ≤ |z|·2⁻²⁴ ≈ 4e-6 relative at the
///   threshold |z| ≈ 70); below 1e-30 the result must be ≥ 0 and ≤ 2e-30.
/// * Centered: |y − y_ref| ≤ 1e-5·|y_ref| + 1e-6/β. The absolute part is unavoidable: near
///   z = 0 the value is a difference of two O(1) quantities in units of 1/β (log(1+eᶻ) and log 2),
///   each carrying ~1 ulp ≈ 6e-8, so 1e-6/β allows about 16 such ulps and nothing more.
/// In every case the output must be finite, and σ(βx) (the derivative) must be within 1e-6 of
/// its reference and in [0, 1].
@Suite("Numerical range")
struct NumericalRangeTests {
    /// z values: 0 and ±10^t for t in [−8, 4] in steps of 1/32 decade (≈ 770 points).
    static let zSweep: [Double] = {
        var z: [Double] = [0]
        for i in 0...(12 * 32) {
            let t = -8 + Double(i) / 32
            z.append(Foundation.pow(10, t))
            z.append(-Foundation.pow(10, t))
        }
        return z
    }()

    static func softplusReference(z: Double, beta: Double, centered: Bool) -> Double {
        (Swift.max(z, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(z))) - (centered ? Foundation.log(2.0) : 0)) / beta
    }

    @Test("softplus with constant β matches a Double reference over βx ∈ [−1e4, 1e4]",
          arguments: [Float(1e-3), 1e-2, 1, 5, 1000, 1e4], [false, true])
    func softplusRange(_ beta: Float, _ centered: Bool) {
        let xs = Self.zSweep.map { Float($0 / Double(beta)) }
        let x = Tensor(xs)
        let y = softplus(x, beta: beta, centered: centered)
        #expect(y.isFinite, "softplus produced NaN or ±∞")
        let ys = y.scalars
        var failures: [String] = []
        for i in xs.indices {
            let z = Double(beta) * Double(xs[i])
            let ref = Self.softplusReference(z: z, beta: Double(beta), centered: centered)
            let got = Double(ys[i])
            let ok: Bool
            if centered {
                ok = Swift.abs(got - ref) <= 1e-5 * Swift.abs(ref) + 1e-6 / Double(beta)
            } else if Swift.abs(ref) >= 1e-30 {
                ok = Swift.abs(got - ref) <= 1e-5 * Swift.abs(ref)
            } else {
                ok = got >= 0 && got <= 2e-30
            }
            if !ok && failures.count < 5 { failures.append("x=\(xs[i]) (βx=\(z)): got \(got), expected \(ref)") }
        }
        #expect(failures.isEmpty, "\(failures)")
        if !centered { #expect(ys.allSatisfy { $0 >= 0 }, "softplus must be non-negative") }
    }

    @Test("softplus derivatives stay finite and accurate over βx ∈ [−1e4, 1e4]", arguments: [Float(1e-3), 1, 1000, 1e4])
    func softplusGradientRange(_ beta: Float) {
        let xs = Self.zSweep.map { Float($0 / Double(beta)) }
        let x = Tensor(xs).requiringGrad()
        let b = Tensor(beta).requiringGrad()
        for centered in [false, true] {
            let grads = gradients(of: softplus(x, beta: b, centered: centered).sum(), wrt: [x, b])
            #expect(grads[0].isFinite && grads[1].isFinite, "centered=\(centered)")
            let gs = grads[0].scalars
            var failures: [String] = []
            for i in xs.indices {
                let z = Double(beta) * Double(xs[i])
                let ref = 1 / (1 + Foundation.exp(-z))
                if !(Swift.abs(Double(gs[i]) - ref) <= 1e-6 && gs[i] >= 0 && gs[i] <= 1), failures.count < 5 {
                    failures.append("βx=\(z): σ = \(gs[i]), expected \(ref)")
                }
            }
            #expect(failures.isEmpty, "\(failures)")
        }
        // Second derivative (β·σ(1−σ) ≤ β/4) is finite too.
        let h = hvp(of: softplus(x, beta: b).sum(), wrt: x, along: Tensor.ones(x.shape))
        #expect(h.isFinite)
        #expect(h.scalars.allSatisfy { $0 >= 0 && $0 <= beta / 4 * 1.0001 })
    }

    @Test("softplus limits: centered s₀(0) = 0, s(0) = log 2/β, large β → ReLU, small β centered → x/2")
    func softplusLimits() {
        #expect(softplus(Tensor([0]), beta: 3, centered: true).item == 0)
        expectClose(softplus(Tensor([0]), beta: 2).scalars, [Float(Foundation.log(2.0) / 2)], rtol: 1e-6)
        let x = Tensor([-2, -0.5, 0.5, 2])
        expectClose(softplus(x, beta: 1e4).scalars, [0, 0, 0.5, 2], rtol: 1e-5, atol: 1e-6)
        // s₀(x) = x/2 + βx²/8 + O(β³x⁴); the tolerance is the documented 1e-6/β cancellation floor.
        let small: Float = 1e-3
        expectClose(softplus(x, beta: small, centered: true).scalars, x.scalars.map { $0 / 2 + small * $0 * $0 / 8 },
                    rtol: 1e-5, atol: 1e-6 / small)
    }

    static func logSumExpReference(_ row: [Float]) -> Double {
        let m = Double(row.max()!)
        return m + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
    }

    @Test("logSumExp matches a Double reference for inputs spanning [−1e4, 1e4]")
    func logSumExpRange() {
        var rows: [[Float]] = [
            [Float](repeating: -1e4, count: 8),
            [Float](repeating: 1e4, count: 8),
            [-1e4, 0, 1e4, -5e3, 5e3, 1, -1, 1e4 - 1],
            [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4, -1e4, 1e4],
            [1e4, -1e4, -1e4, -1e4, -1e4, -1e4, -1e4, -1e4],
            [-9999, -10000, -9998.5, -9999.5, -10000, -9997, -9999, -9998],
            [9999, 10000, 9998.5, 9999.5, 10000, 9997, 9999, 9998],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [1e-3, -1e-3, 2e-3, 0, 0, 0, 0, 0],
            [88, 89, 90, 100, 87, 0, -88, -100],   // exp overflows Float without the shift
        ]
        var g = SeededGenerator(seed: 201)
        for _ in 0..<6 { rows.append((0..<8).map { _ in -1e4 + 2e4 * g.nextUniform() }) }
        for _ in 0..<4 { rows.append((0..<8).map { _ in 50 * g.nextNormal() }) }
        let x = Tensor(rows.flatMap { $0 }, shape: [rows.count, 8])
        let lse = x.logSumExp(axes: [1])
        #expect(lse.shape == [rows.count])
        #expect(lse.isFinite)
        for (i, row) in rows.enumerated() {
            let ref = Self.logSumExpReference(row)
            let got = Double(lse.scalars[i])
            #expect(Swift.abs(got - ref) <= 1e-6 * Swift.max(1, Swift.abs(ref)), "row \(i): got \(got), expected \(ref)")
        }
        // The whole tensor at once, and along axis 0 of the transpose.
        let all = Double(x.logSumExp().item)
        #expect(Swift.abs(all - Self.logSumExpReference(rows.flatMap { $0 })) <= 1e-6 * 1e4)
        let columns = x.transposed().logSumExp(axes: [0]).scalars
        expectClose(columns, lse.scalars, rtol: 1e-7, atol: 0)
        // The gradient (softmax) is finite and sums to one per row, even for the extreme rows.
        let xg = x.copy().requiringGrad()
        let p = gradients(of: xg.logSumExp(axes: [1]).sum(), wrt: [xg])[0]
        #expect(p.isFinite)
        expectClose(p.sum(axes: [1]).scalars, [Float](repeating: 1, count: rows.count), rtol: 0, atol: 1e-5)
        expectClose(Array(p.scalars[0..<8]), [Float](repeating: 0.125, count: 8), rtol: 1e-6)
    }

    @Test("logSumExp of an all −∞ row is −∞ and of a row with one −∞ ignores it")
    func logSumExpInfinities() {
        let x = Tensor([-.infinity, -.infinity, 0, -.infinity], shape: [2, 2])
        let lse = x.logSumExp(axes: [1]).scalars
        #expect(lse[0] == -.infinity)
        #expect(lse[1] == 0)
    }

    @Test("log-softmax and cross-entropy stay finite for logits of ±1e4")
    func crossEntropyExtreme() {
        let logits = Tensor([1e4, -1e4, 0, -1e4, 1e4, 0], shape: [2, 3])
        let loss = crossEntropy(logits: logits, labels: [0, 0], reduction: .none).scalars
        #expect(loss[0] == 0)
        #expect(loss[1] == 2e4)
        #expect(logSoftmax(logits).isFinite)
    }

    /// (input, reference) spot checks; |y − ref| ≤ 2e-6·|ref| + 1e-37.
    static func spotCheck(_ name: String, _ xs: [Float], _ f: (Tensor) -> Tensor, _ ref: (Double) -> Double,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let ys = f(Tensor(xs)).scalars
        for (x, y) in zip(xs, ys) {
            let r = ref(Double(x))
            #expect(Swift.abs(Double(y) - r) <= 2e-6 * Swift.abs(r) + 1e-37, "\(name)(\(x)) = \(y), expected \(r)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("sigmoid, tanh, exp, log, log1p spot checks against Double")
    func elementwiseSpotChecks() {
        Self.spotCheck("sigmoid", [-1e4, -100, -80, -20, -5, -1, -1e-4, 0, 1e-4, 1, 5, 20, 100, 1e4], sigmoid) { 1 / (1 + Foundation.exp(-$0)) }
        Self.spotCheck("tanh", [-1e4, -20, -3, -1, -1e-3, -1e-7, 0, 1e-7, 1e-3, 0.5, 1, 3, 20, 1e4], tanh) { Foundation.tanh($0) }
        Self.spotCheck("exp", [-100, -80, -20, -1, -1e-6, 0, 1e-6, 0.5, 1, 10, 50, 88], exp) { Foundation.exp($0) }
        Self.spotCheck("log", [1e-30, 1e-10, 1e-3, 0.5, 1, 1.0001, 2, 1e3, 1e10, 1e30], log) { Foundation.log($0) }
        Self.spotCheck("log1p", [-0.999, -0.5, -1e-4, -1e-8, 0, 1e-10, 1e-7, 1e-3, 1, 1e3, 1e10], log1p) { Foundation.log1p($0) }
        Self.spotCheck("sqrt", [0, 1e-30, 1e-6, 0.25, 2, 1e10], sqrt) { $0.squareRoot() }
        #expect(sigmoid(Tensor([-1e4, 1e4, -.infinity, .infinity])).scalars == [0, 1, 0, 1])
        #expect(exp(Tensor([-1e4])).scalars == [0])
        #expect(log(Tensor([0])).scalars == [-.infinity])
    }
}
