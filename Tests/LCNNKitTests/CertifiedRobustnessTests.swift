import Datasets
import Foundation
@testable import LCNNKit
import NN
import TensorCore
import Testing

/// Certified ℓ2 radii: guaranteed bounds that are exact where the answer is known (linear
/// models, known spectra, a quadratic), and certificates that no attack breaks on trained models.
@Suite("Certified robustness")
struct CertifiedRobustnessTests {
    /// A linear layer with the given weights `[out, in]` and bias.
    static func linearModel(_ w: [Float], out: Int, bias: [Float]) -> Linear {
        var g = SeededGenerator(seed: 0)
        let layer = Linear(inFeatures: w.count / out, outFeatures: out, generator: &g)
        layer.weight.withUnsafeMutableBufferPointer { for i in w.indices { $0[i] = w[i] } }
        layer.bias!.withUnsafeMutableBufferPointer { for i in bias.indices { $0[i] = bias[i] } }
        return layer
    }

    @Test("the eigenvalue and operator-norm bounds are upper bounds and tight")
    func upperBounds() {
        // diag(3, 1, 1, 0.5) in a rotated basis: λ_max = 3 exactly.
        let n = 4
        let c = Foundation.cos(0.3), s = Foundation.sin(0.3)
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        q[0] = c; q[1] = -s; q[n] = s; q[n + 1] = c
        let d = [3.0, 1, 1, 0.5]
        var g = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { g[i * n + j] += q[i * n + k] * d[k] * q[j * n + k] } } }
        let bound = OperatorNorm.symmetricEigenvalueUpperBound(g, size: n)
        #expect(bound >= 3 && bound <= 3 * Foundation.pow(Double(n), 1.0 / 8192) * (1 + 1e-8), "\(bound)")
        // Two nearly equal top singular values, where power iteration converges slowly.
        var gen = SeededGenerator(seed: 3)
        for shape in [[5, 40], [40, 5], [64, 288]] {
            let w = Tensor.normal(shape, generator: &gen)
            let upper = OperatorNorm.matrixUpperBound(w)
            let estimate = Double(OperatorNorm.matrix(w, iterations: 2000, tolerance: 1e-9))
            #expect(upper >= estimate * (1 - 1e-6) && upper <= estimate * 1.002, "\(shape): \(upper) vs \(estimate)")
        }
        let kernel = Tensor.normal([8, 3, 3, 3], generator: &gen)
        for stride in [1, 2] {
            let estimate = Double(OperatorNorm.convolution(kernel, inputShape: [1, 3, 10, 10], stride: stride, padding: 1))
            #expect(OperatorNorm.convolutionUpperBound(kernel, stride: stride) >= estimate, "stride \(stride)")
        }
    }

    @Test("a linear model: L = ‖W‖₂, K = 0, and both radii reach the exact minimal perturbation where the theory says")
    func linear() {
        // Two classes with w₁ = −w₀: ‖w₀ − w₁‖ = 2‖w‖ = √2·‖W‖₂, so m/(√2 L) is exact.
        let w: [Float] = [0.6, -0.8, 1.2, 0.4]
        let model = Self.linearModel(w + w.map { -$0 }, out: 2, bias: [0.1, -0.1])
        let cert = CertifiedRobustness(model: model, inputShape: [4])
        let norm = Double(w.map { $0 * $0 }.reduce(0, +)).squareRoot()
        #expect(Swift.abs(cert.lipschitz - 2.0.squareRoot() * norm) < 1e-5 * cert.lipschitz)
        #expect(cert.curvature == 0)
        var g = SeededGenerator(seed: 5)
        let x = Tensor.normal([12, 4], generator: &g)
        let f: Classifier = { model($0) }
        let z = withoutGrad { f(x) }.scalars
        let labels = (0..<12).map { z[2 * $0] > z[2 * $0 + 1] ? 0 : 1 }
        let r = cert.radii(f, x, labels: labels)
        for i in 0..<12 {
            let exact = Double(Swift.abs(z[2 * i] - z[2 * i + 1])) / (2 * norm)
            #expect(Swift.abs(r.lipschitz[i] - exact) < 1e-4 * exact + 1e-7, "sample \(i): \(r.lipschitz[i]) vs \(exact)")
            #expect(Swift.abs(r.curvature![i] - exact) < 1e-4 * exact + 1e-7, "sample \(i)")
        }
        // Three classes: the Lipschitz radius is a lower bound, the curvature one (K = 0) is exact:
        // min_j (z_y − z_j)/‖w_y − w_j‖.
        let w3: [Float] = [1, 0, 0.5, -1, 0.5, 1, 0, -1, 2]
        let three = Self.linearModel(w3, out: 3, bias: [0, 0.2, -0.1])
        let cert3 = CertifiedRobustness(model: three, inputShape: [3])
        let x3 = Tensor.normal([10, 3], generator: &g)
        let z3 = withoutGrad { three(x3) }.scalars
        let labels3 = (0..<10).map { i in (0..<3).max { z3[3 * i + $0] < z3[3 * i + $1] }! }
        let r3 = cert3.radii({ three($0) }, x3, labels: labels3)
        for i in 0..<10 {
            let y = labels3[i]
            let exact = (0..<3).filter { $0 != y }.map { j -> Double in
                let diff = (0..<3).map { Double(w3[y * 3 + $0] - w3[j * 3 + $0]) }
                return Double(z3[3 * i + y] - z3[3 * i + j]) / diff.map { $0 * $0 }.reduce(0, +).squareRoot()
            }.min()!
            #expect(Swift.abs(r3.curvature![i] - exact) < 1e-4 * exact + 1e-7, "sample \(i): \(r3.curvature![i]) vs \(exact)")
            #expect(r3.lipschitz[i] <= exact * (1 + 1e-5), "sample \(i)")
        }
    }

    @Test("the curvature radius is the exact root of the quadratic lower bound")
    func quadratic() {
        // f(x + δ) = f0 + gᵀδ − (k/2)‖δ‖² has |D²f| = k; the worst δ = −r·g/‖g‖ reaches f = 0 at r.
        for (f0, gNorm, k) in [(1.0, 2.0, 0.5), (0.3, 0.01, 4.0), (2.0, 1e4, 1e-3), (1.0, 0.0, 2.0)] {
            let r = CertifiedRobustness.curvatureRadius(value: f0, gradientNorm: gNorm, hessianBound: k)
            #expect(Swift.abs(f0 - gNorm * r - k / 2 * r * r) < 1e-9 * Swift.max(1, f0), "f0 \(f0) g \(gNorm) k \(k): r = \(r)")
            // Any smaller radius keeps f > 0 in every direction.
            let inside = 0.999 * r
            #expect(f0 - gNorm * inside - k / 2 * inside * inside > 0)
        }
        #expect(CertifiedRobustness.curvatureRadius(value: -1, gradientNorm: 1, hessianBound: 1) == 0)
        #expect(CertifiedRobustness.lipschitzRadius(margin: 1, lipschitz: 2) == 1 / (2 * 2.0.squareRoot()))
    }

    @Test("on trained models no certified sample is broken by APGD or by random perturbations inside its radius")
    func certifiedBelowEmpirical() throws {
        // An LCNN MLP (spectral norm, γ-BN, centred softplus) on two moons: finite K.
        let train = TrainFixtures.moons(200, seed: 1), test = TrainFixtures.moons(64, seed: 2)
        let trainer = try Trainer(config: TrainFixtures.moonsConfig(.lcnn, epochs: 4), train: train, test: test, outputDirectory: nil)
        try trainer.run()
        let model = trainer.model
        let cert = CertifiedRobustness(model: model, inputShape: [2])
        let k = try #require(cert.curvature, "an LCNN MLP has a finite curvature bound")
        #expect(k > 0 && cert.lipschitz > 0 && cert.lipschitz.isFinite)
        #expect(cert.lipschitz >= cert.estimatedLipschitz * (1 - 1e-5), "the guaranteed L is below the estimate")
        let epsilons: [Float] = [0.02, 0.05, 0.1, 0.2]
        let report = cert.evaluate(model: model, dataset: test, epsilons: epsilons, batchSize: 32)
        #expect(report.lipschitzPoints.count == 4 && report.curvaturePoints?.count == 4)
        var options = AttackOptions()
        options.inputRange = nil
        options.apgdIterations = 30
        let apgd = robustAccuracy(model: model, dataset: test, attack: .apgdCEL2, epsilons: epsilons, options: options, batchSize: 32)
        for (c, e) in zip(report.bestPoints, apgd.points) {
            let check = RobustnessSanityCheck.certifiedBelowEmpirical(certified: c, empirical: e, certificate: "best")
            #expect(check.passed, "\(check.line)")
            #expect(c.certified <= e.robustCorrect)
        }
        #expect(report.bestPoints[0].certified > 0, "some sample is certified at ε = 0.02: \(report.bestPoints.map(\.certified))")
        // Random directions at 0.99 of each certified radius never change the class.
        let classifier: Classifier = { x in inference { model(x) } }
        let radii = cert.radii(classifier, test.images, labels: test.labels)
        var g = SeededGenerator(seed: 9)
        for trial in 0..<20 {
            let direction = Tensor.normal(test.images.shape, generator: &g).perSampleNormalized()
            let moved = withoutGrad { test.images + direction.scaledPerSample(radii.best.map { Float(0.99 * Swift.min($0, 1e3)) }) }
            let after = withoutGrad { classifier(moved) }.argmax(axis: -1)
            for i in test.labels.indices where radii.correct[i] && radii.best[i] > 0 {
                #expect(after[i] == test.labels[i], "trial \(trial), sample \(i): class changed inside radius \(radii.best[i])")
            }
        }
    }

    @Test("networks with ReLU or max-pooling have no curvature certificate, only the Lipschitz one")
    func undefinedCurvature() {
        let relu = ModelConfig(architecture: .mlp, activation: .relu, inputShape: [6], classes: 3, hiddenWidths: [8], seed: 1).makeModel()
        let cert = CertifiedRobustness(model: relu, inputShape: [6])
        #expect(cert.curvature == nil && cert.lipschitz.isFinite && cert.lipschitz > 0)
        var g = SeededGenerator(seed: 2)
        let x = Tensor.normal([5, 6], generator: &g)
        let r = cert.radii({ relu($0) }, x, labels: [0, 1, 2, 0, 1])
        #expect(r.curvature == nil && r.best == r.lipschitz)
    }
}
