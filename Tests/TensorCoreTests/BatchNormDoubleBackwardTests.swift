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

    /// Shapes with inner sizes below, at and past the kernel's 16-wide rows (9; 42 = 2·16 + 10),
    /// and each subset of requested gradients (the kernel writes ∂g and ∂x in separate loops
    /// depending on which are needed).
    @Test("the fused and the recorded rule of the input-gradient primitive agree",
          arguments: [[4, 3, 3, 3], [2, 3, 6, 7], [3, 2, 4, 4]], [[0, 1, 2], [0], [2], [1]])
    func fusedMatchesRecorded(_ shape: [Int], _ wanted: [Int]) {
        let channels = shape[1]
        let x = Fixtures.normal(shape, seed: 31).requiringGrad(), w = Fixtures.normal([channels], seed: 32).requiringGrad()
        let g = Fixtures.normal(shape, seed: 33).requiringGrad(), u = Fixtures.normal(shape, seed: 34)
        let gx = Self.inputGradient(x, w, g)
        let targets = wanted.map { [x, w, g][$0] }
        let fused = gradients(of: (gx * u).sum(), wrt: targets)
        let recorded = gradients(of: (gx * u).sum(), wrt: targets, createGraph: true)
        for (a, b) in zip(fused, recorded) {
            let scale = a.scalars.map(Swift.abs).max() ?? 1
            let error = zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-4 * Swift.max(scale, 1))
        }
    }
}
