import Testing
import Foundation
import TensorCore
import _TestSupport

/// Hessian-vector products by double backprop, against central differences of exact gradients
/// and against closed forms.
@Suite("Hessian-vector products")
struct HessianVectorProductTests {
    /// (∇f(θ + εv) − ∇f(θ − εv)) / 2ε, each gradient by first-order autodiff.
    static func finiteDifferenceHVP(_ f: (Tensor) -> Tensor, at theta: Tensor, along v: Tensor, epsilon: Float) -> Tensor {
        func grad(_ shift: Float) -> Tensor {
            let moved = withoutGrad { theta + v * shift }.requiringGrad()
            return gradients(of: f(moved), wrt: [moved])[0]
        }
        let (plus, minus) = (grad(epsilon), grad(-epsilon))
        return withoutGrad { (plus - minus) / (2 * epsilon) }
    }

    static func expectHVPMatchesFiniteDifferences(_ f: (Tensor) -> Tensor, at theta: Tensor, directionSeed: UInt64,
                                                  epsilon: Float, rtol: Float, sourceLocation: SourceLocation = #_sourceLocation) {
        let v = Fixtures.normal(theta.shape, seed: directionSeed)
        let x = theta.copy().requiringGrad()
        let analytic = hvp(of: f(x), wrt: x, along: v)
        #expect(analytic.shape == theta.shape, sourceLocation: sourceLocation)
        #expect(!analytic.requiresGrad, "createGraph defaults to false", sourceLocation: sourceLocation)
        let numeric = finiteDifferenceHVP(f, at: theta, along: v, epsilon: epsilon)
        let scale = numeric.scalars.map { Swift.abs($0) }.max() ?? 0
        #expect(scale > 1e-2, "the test needs a non-trivial Hessian", sourceLocation: sourceLocation)
        expectClose(analytic.scalars, numeric.scalars, rtol: 0, atol: rtol * scale, "hvp vs finite differences",
                    sourceLocation: sourceLocation)
    }

    // MARK: small networks, all parameters in one flat vector (so cross-layer terms count)

    /// Two linear layers with softplus(β = 5) between them and cross-entropy on top.
    static func softplusMLP(_ theta: Tensor) -> Tensor {
        let x = Fixtures.normal([4, 3], seed: 171)
        let (w1, b1) = (theta.sliced(axis: 0, 0..<15).reshaped(to: [3, 5]), theta.sliced(axis: 0, 15..<20))
        let (w2, b2) = (theta.sliced(axis: 0, 20..<35).reshaped(to: [5, 3]), theta.sliced(axis: 0, 35..<38))
        let hidden = softplus(matmul(x, w1) + b1, beta: 5)
        return crossEntropy(logits: matmul(hidden, w2) + b2, labels: [0, 2, 1, 2])
    }

    @Test("softplus MLP: hvp w.r.t. all parameters matches finite differences of gradients", arguments: [UInt64(1), 2, 3])
    func softplusMLPHVP(_ directionSeed: UInt64) {
        let theta = Fixtures.normal([38], seed: 172, std: 0.7)
        Self.expectHVPMatchesFiniteDifferences(Self.softplusMLP, at: theta, directionSeed: directionSeed,
                                               epsilon: 1e-3, rtol: 5e-3)
    }

    @Test("softplus MLP: hvp w.r.t. the input data")
    func softplusMLPInputHVP() {
        let params = Fixtures.normal([38], seed: 173, std: 0.7)
        let f = { (x: Tensor) -> Tensor in
            let w1 = params.sliced(axis: 0, 0..<15).reshaped(to: [3, 5]), b1 = params.sliced(axis: 0, 15..<20)
            let w2 = params.sliced(axis: 0, 20..<35).reshaped(to: [5, 3]), b2 = params.sliced(axis: 0, 35..<38)
            return crossEntropy(logits: matmul(softplus(matmul(x, w1) + b1, beta: 5), w2) + b2, labels: [1, 0, 2, 2])
        }
        Self.expectHVPMatchesFiniteDifferences(f, at: Fixtures.normal([4, 3], seed: 174), directionSeed: 4,
                                               epsilon: 1e-3, rtol: 5e-3)
    }

    /// conv(3×3, pad 1) + bias → softplus(β = 5) → maxPool 2 → linear → cross-entropy.
    static func convNet(_ theta: Tensor) -> Tensor {
        let x = Fixtures.normal([2, 1, 6, 6], seed: 175)
        let w1 = theta.sliced(axis: 0, 0..<18).reshaped(to: [2, 1, 3, 3]), b1 = theta.sliced(axis: 0, 18..<20)
        let w2 = theta.sliced(axis: 0, 20..<74).reshaped(to: [18, 3]), b2 = theta.sliced(axis: 0, 74..<77)
        let h = softplus(conv2d(x, weight: w1, bias: b1, padding: 1), beta: 5).maxPool2d(kernelSize: 2)
        return crossEntropy(logits: matmul(h.flattened(), w2) + b2, labels: [2, 0])
    }

    @Test("conv + maxPool + linear net: hvp w.r.t. all parameters matches finite differences", arguments: [UInt64(5), 6])
    func convNetHVP(_ directionSeed: UInt64) {
        let theta = Fixtures.normal([77], seed: 176, std: 0.5)
        Self.expectHVPMatchesFiniteDifferences(Self.convNet, at: theta, directionSeed: directionSeed,
                                               epsilon: 1e-3, rtol: 5e-3)
    }

    // MARK: closed forms

    @Test("log-sum-exp: Hessian built column by column equals diag(p) − p pᵀ")
    func logSumExpHessian() {
        let values: [Float] = [0.3, -1.2, 2.0, 0.7, -0.4]
        let n = values.count
        let x = Tensor(values).requiringGrad()
        // p = softmax(x) in Double.
        let m = Double(values.max()!)
        let e = values.map { Foundation.exp(Double($0) - m) }
        let p = e.map { $0 / e.reduce(0, +) }
        for i in 0..<n {
            var basis = [Float](repeating: 0, count: n)
            basis[i] = 1
            let column = hvp(of: x.logSumExp(), wrt: x, along: Tensor(basis)).scalars
            let expected = (0..<n).map { j in Float((i == j ? p[i] : 0) - p[i] * p[j]) }
            expectClose(column, expected, rtol: 1e-5, atol: 1e-6, "column \(i)")
        }
    }

    @Test("row-wise log-sum-exp: the Hessian is block diagonal with diag(p) − p pᵀ blocks")
    func rowwiseLogSumExpHessian() {
        let values: [Float] = [0.5, -0.5, 1.5, 3.0, 2.0, -1.0]
        let x = Tensor(values, shape: [2, 3]).requiringGrad()
        let rows = [Array(values[0..<3]), Array(values[3..<6])]
        let probabilities = rows.map { r -> [Double] in
            let e = r.map { Foundation.exp(Double($0)) }
            return e.map { $0 / e.reduce(0, +) }
        }
        for i in 0..<6 {
            var basis = [Float](repeating: 0, count: 6)
            basis[i] = 1
            let column = hvp(of: x.logSumExp(axes: [1]).sum(), wrt: x, along: Tensor(basis, shape: [2, 3])).scalars
            let (ri, ci) = (i / 3, i % 3)
            let expected = (0..<6).map { j -> Float in
                let (rj, cj) = (j / 3, j % 3)
                guard ri == rj else { return 0 }
                let p = probabilities[ri]
                return Float((ci == cj ? p[ci] : 0) - p[ci] * p[cj])
            }
            expectClose(column, expected, rtol: 1e-5, atol: 1e-6, "column \(i)")
        }
    }

    @Test("quadratic form: hvp of ½ xᵀAx is ½(A + Aᵀ)v exactly")
    func quadraticForm() {
        let a = Fixtures.normal([4, 4], seed: 177)
        let x = Fixtures.normal([4, 1], seed: 178).requiringGrad()
        let v = Fixtures.normal([4, 1], seed: 179)
        let f = (matmul(matmul(x, a, transposeA: true), x) * 0.5).sum()
        let h = hvp(of: f, wrt: x, along: v)
        let av = matmul(a, v), atv = matmul(a, v, transposeA: true)
        expectClose(h, ((av + atv) * 0.5).scalars, shape: [4, 1], rtol: 1e-5, atol: 1e-6)
    }

    @Test("hvp with createGraph: true can be differentiated again (third derivative of x⁴)")
    func hvpCreateGraph() {
        let x = Tensor([0.5, -1.5, 2]).requiringGrad()
        let v = Tensor([1, 2, -1])
        let h = hvp(of: square(square(x)).sum(), wrt: x, along: v, createGraph: true)   // 12x²·v
        #expect(h.requiresGrad)
        expectClose(h, [3, 54, -48], rtol: 1e-5)
        let third = gradients(of: h.sum(), wrt: [x])[0]                                 // 24x·v
        expectClose(third, [12, -72, -48], rtol: 1e-5)
    }
}
