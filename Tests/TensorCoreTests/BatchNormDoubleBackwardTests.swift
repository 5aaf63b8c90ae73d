import Testing
import TensorCore
import _TestSupport

/// Batch norm's input gradient is a recorded primitive with its own rule (fused when the
/// backward pass is not recorded, tensor operations when it is). Double backprop (GradReg,
/// CURE, Hessian-vector products in training mode) goes through that rule.
@Suite("Batch norm double backward")
struct BatchNormDoubleBackwardTests {
    /// F(x, w, G) = ∂⟨BN(x; w), G⟩/∂x, recorded.
    static func inputGradient(_ x: Tensor, _ w: Tensor?, _ g: Tensor) -> Tensor {
        let channels = x.shape[1]
        let y = batchNorm(x, runningMean: .zeros([channels]), runningVar: .ones([channels]), weight: w, training: true)
        return gradients(of: (y * g).sum(), wrt: [x], createGraph: true)[0]
    }

    @Test("∂x of batch norm is correct to first and second order", arguments: [[3, 2, 4, 5], [6, 3]])
    func inputGradientChecks(_ shape: [Int]) {
        let x = Fixtures.normal(shape, seed: 21), w = Fixtures.normal([shape[1]], seed: 22), g = Fixtures.normal(shape, seed: 23)
        let check = GradCheck()
        let first = check.firstOrder([x, w, g]) { Self.inputGradient($0[0], $0[1], $0[2]) }
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = check.secondOrder([x, w, g]) { Self.inputGradient($0[0], $0[1], $0[2]) }
        #expect(GradCheck.allPassed(second), "\(second)")
        let noWeight = check.firstOrder([x, g]) { Self.inputGradient($0[0], nil, $0[1]) }
        #expect(GradCheck.allPassed(noWeight), "\(noWeight)")
    }

    @Test("the fused and the recorded rule of the input-gradient primitive agree")
    func fusedMatchesRecorded() {
        let shape = [4, 3, 3, 3]
        let x = Fixtures.normal(shape, seed: 31).requiringGrad(), w = Fixtures.normal([3], seed: 32).requiringGrad()
        let g = Fixtures.normal(shape, seed: 33).requiringGrad(), u = Fixtures.normal(shape, seed: 34)
        let gx = Self.inputGradient(x, w, g)
        let fused = gradients(of: (gx * u).sum(), wrt: [x, w, g])
        let recorded = gradients(of: (gx * u).sum(), wrt: [x, w, g], createGraph: true)
        for (a, b) in zip(fused, recorded) {
            let scale = a.scalars.map(Swift.abs).max() ?? 1
            let error = zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-4 * Swift.max(scale, 1))
        }
    }
}
