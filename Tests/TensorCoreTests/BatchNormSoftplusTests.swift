import Testing
import TensorCore
import _TestSupport

/// `batchNormSoftplus` is `softplus(batchNorm(…))` in one operation: values, running statistics
/// and derivatives of both orders must be the composition's, for every combination of affine
/// parameters, both softplus forms, and row lengths below, at and past the kernels' 16-wide steps.
@Suite("Batch norm fused with softplus")
struct BatchNormSoftplusTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let shape: [Int]
        let weight: Bool, bias: Bool, centered: Bool
        var testDescription: String { "\(shape) weight \(weight) bias \(bias) centered \(centered)" }
    }

    static let cases: [Case] = [
        Case(shape: [4, 3, 5, 7], weight: true, bias: true, centered: true),     // inner 35 = 2·16 + 3
        Case(shape: [4, 3, 4, 4], weight: true, bias: false, centered: false),   // inner 16
        Case(shape: [5, 2, 3, 3], weight: false, bias: true, centered: true),    // inner 9: tail only
        Case(shape: [6, 4], weight: false, bias: false, centered: false),        // [N, C]
    ]

    struct Operands {
        let x: Tensor, weight: Tensor?, bias: Tensor?, beta: Tensor
        var all: [Tensor] { [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? []) + [beta] }
    }

    static func operands(_ c: Case, seed: UInt64) -> Operands {
        let channels = c.shape[1]
        return Operands(x: Fixtures.normal(c.shape, seed: seed).requiringGrad(),
                        weight: c.weight ? Fixtures.normal([channels], seed: seed + 1).requiringGrad() : nil,
                        bias: c.bias ? Fixtures.normal([channels], seed: seed + 2).requiringGrad() : nil,
                        beta: Tensor(Float(2.5)).requiringGrad())
    }

    /// The fused operation (`fused: true`) or the composition, with fresh running statistics
    /// returned beside the output.
    static func apply(_ c: Case, _ o: Operands, fused: Bool, training: Bool = true) -> (Tensor, Tensor, Tensor) {
        let channels = c.shape[1]
        let mean = Tensor.zeros([channels]) + 0.1, variance = Tensor.ones([channels]) * 1.5
        let y = fused
            ? batchNormSoftplus(o.x, runningMean: mean, runningVar: variance, weight: o.weight, bias: o.bias,
                                training: training, beta: o.beta, centered: c.centered)
            : softplus(batchNorm(o.x, runningMean: mean, runningVar: variance, weight: o.weight, bias: o.bias,
                                 training: training), beta: o.beta, centered: c.centered)
        return (y, mean, variance)
    }

    static func expectClose(_ a: Tensor, _ b: Tensor, _ what: String, tolerance: Float = 2e-5) {
        #expect(a.shape == b.shape, "\(what): shapes \(a.shape) vs \(b.shape)")
        let scale = Swift.max(1, b.scalars.map(Swift.abs).max() ?? 1)
        let error = zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
        #expect(error <= tolerance * scale, "\(what): max difference \(error) (scale \(scale))")
    }

    @Test("values, running statistics and first-order gradients equal the composition's", arguments: cases)
    func firstOrderMatchesComposition(_ c: Case) {
        for training in [true, false] {
            let o = Self.operands(c, seed: 40)
            let (fused, fusedMean, fusedVar) = Self.apply(c, o, fused: true, training: training)
            let (plain, plainMean, plainVar) = Self.apply(c, o, fused: false, training: training)
            Self.expectClose(fused, plain, "output (training \(training))")
            Self.expectClose(fusedMean, plainMean, "running mean")
            Self.expectClose(fusedVar, plainVar, "running variance")
            let g = Fixtures.normal(c.shape, seed: 49)
            let a = gradients(of: (fused * g).sum(), wrt: o.all)
            let b = gradients(of: (plain * g).sum(), wrt: o.all)
            for (i, (ga, gb)) in zip(a, b).enumerated() { Self.expectClose(ga, gb, "gradient \(i) (training \(training))", tolerance: 1e-4) }
        }
    }

    @Test("only the requested gradients are computed, and each equals the composition's", arguments: [0, 1, 2, 3])
    func subsetsOfGradients(_ which: Int) {
        let c = Self.cases[0]
        let o = Self.operands(c, seed: 50)
        let target = o.all[which]
        let g = Fixtures.normal(c.shape, seed: 59)
        let a = gradients(of: (Self.apply(c, o, fused: true).0 * g).sum(), wrt: [target])[0]
        let b = gradients(of: (Self.apply(c, o, fused: false).0 * g).sum(), wrt: [target])[0]
        Self.expectClose(a, b, "gradient \(which)", tolerance: 1e-4)
    }

    /// Double backprop (what GradReg trains with): ∂/∂θ of Σ‖∂L/∂θᵢ‖² over every operand θᵢ
    /// (β included, so the recorded β rule is differentiated too), with L = ⟨f(x), g⟩.
    @Test("the recorded rule gives the composition's second derivatives", arguments: cases)
    func secondOrderMatchesComposition(_ c: Case) {
        let o = Self.operands(c, seed: 60)
        let g = Fixtures.normal(c.shape, seed: 69)
        func penaltyGradients(fused: Bool) -> [Tensor] {
            let y = Self.apply(c, o, fused: fused).0
            let first = gradients(of: (y * g).sum(), wrt: o.all, createGraph: true)
            let penalty = first.map { ($0 * $0).sum() }.reduce(Tensor(Float(0)), +)
            return gradients(of: penalty, wrt: o.all)
        }
        for (i, (a, b)) in zip(penaltyGradients(fused: true), penaltyGradients(fused: false)).enumerated() {
            Self.expectClose(a, b, "second-order gradient \(i)", tolerance: 1e-4)
        }
    }

    @Test("finite differences: first and second order", arguments: cases)
    func gradientChecks(_ c: Case) {
        let o = Self.operands(c, seed: 70)
        let f: ([Tensor]) -> Tensor = { v in
            var rest = v.dropFirst()
            let w = c.weight ? rest.removeFirst() : nil
            let b = c.bias ? rest.removeFirst() : nil
            return batchNormSoftplus(v[0], runningMean: .zeros([c.shape[1]]), runningVar: .ones([c.shape[1]]), weight: w,
                                     bias: b, training: true, beta: rest.removeFirst(), centered: c.centered)
        }
        let check = GradCheck()
        let first = check.firstOrder(o.all.map { $0.detached() }, f)
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = check.secondOrder(o.all.map { $0.detached() }, f)
        #expect(GradCheck.allPassed(second), "\(second)")
    }
}
