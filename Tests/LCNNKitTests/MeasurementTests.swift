import Datasets
import Foundation
import NN
import TensorCore
import Testing
import _TestSupport
@testable import LCNNKit

/// SPEC §4 G1–G6: curvature measurements against exact Hessians, closed forms and theory.
@Suite("Curvature measurements")
struct MeasurementTests {
    /// G2: power iteration on HVPs finds the top-|λ| eigenvalue of the full Hessian (Jacobi).
    @Test("Power iteration matches the dominant eigenvalue of the exact Hessian", arguments: [2, 6])
    func powerIterationMatchesJacobiMLP(features: Int) {
        let model = MeasurementFixtures.mlp(features: features, seed: UInt64(features))
        let x = Fixtures.normal([4, features], seed: 11)
        let labels = [0, 1, 2, 1]
        let h = InputHessian(model: model, at: x, labels: labels)
        let result = HessianPowerIteration(iterations: 300, tolerance: 1e-5, seed: 4).run(h)
        for i in 0..<4 {
            let exact = MeasurementFixtures.dominantEigenvalue(MeasurementFixtures.fullHessian(h, sample: i))
            #expect(result.converged[i], "sample \(i) converged")
            let estimate = Double(result.spectralNorm[i]), signed = Double(result.dominantEigenvalue[i])
            let error: Double = Swift.abs(estimate - Swift.abs(exact))
            #expect(error <= 2e-3 * Swift.abs(exact) + 1e-7, "sample \(i): power \(signed) vs Jacobi \(exact)")
            #expect((signed >= 0) == (exact >= 0), "sign of the dominant eigenvalue")
        }
    }

    @Test("Power iteration matches the exact Hessian on a tiny conv net (1×6×6)")
    func powerIterationMatchesJacobiConv() {
        let model = TinyConvNet(seed: 5)
        let x = Fixtures.uniform([2, 1, 6, 6], seed: 12)
        let h = InputHessian(model: model, at: x, labels: [2, 0])
        let result = HessianPowerIteration(iterations: 500, tolerance: 1e-5, seed: 1).run(h)
        for i in 0..<2 {
            let exact = MeasurementFixtures.dominantEigenvalue(MeasurementFixtures.fullHessian(h, sample: i))
            #expect(result.converged[i])
            let estimate = Double(result.spectralNorm[i])
            let error: Double = Swift.abs(estimate - Swift.abs(exact))
            #expect(error <= 2e-3 * Swift.abs(exact), "sample \(i): power \(result.dominantEigenvalue[i]) vs Jacobi \(exact)")
        }
    }

    @Test("A negative dominant eigenvalue is found with its sign, and |λ| is the spectral norm")
    func negativeDominantEigenvalue() {
        let a = MeasurementFixtures.symmetric(eigenvalues: [-3, 1, 2, -0.5, 0.25], seed: 9)
        let loss = MeasurementFixtures.quadraticLoss(a: a, b: [0.1, -0.2, 0.3, 0, 0.5])
        let x = Fixtures.normal([3, 5], seed: 13)
        let h = InputHessian(at: x, loss: loss)
        let exact = MeasurementFixtures.dominantEigenvalue(MeasurementFixtures.fullHessian(h, sample: 1))
        #expect(Swift.abs(exact + 3) < 1e-4, "Jacobi recovers λ = −3 (got \(exact))")
        let result = HessianPowerIteration(iterations: 100, tolerance: 1e-5).run(h)
        for i in 0..<3 {
            #expect(Swift.abs(result.dominantEigenvalue[i] + 3) < 1e-3, "σ = \(result.dominantEigenvalue[i])")
            #expect(Swift.abs(result.spectralNorm[i] - 3) < 1e-3)
            #expect(result.converged[i])
        }
    }

    @Test("Convergence flags: false after too few steps on a small gap, true after many; early stop")
    func convergenceFlags() {
        let a = MeasurementFixtures.symmetric(eigenvalues: [3, 2.9, 1, 0.5], seed: 2)
        let loss = MeasurementFixtures.quadraticLoss(a: a, b: [1, 0, 0, 0])
        let x = Fixtures.normal([6, 4], seed: 14)
        let h = InputHessian(at: x, loss: loss)
        let few = HessianPowerIteration(iterations: 2, tolerance: 1e-7).run(h)
        #expect(few.convergedCount < 6, "a 3.3 % gap does not converge to 1e-7 in 2 steps")
        #expect(few.productCount == 3)
        let many = HessianPowerIteration(iterations: 2000, tolerance: 1e-6, stopWhenAllConverged: true).run(h)
        #expect(many.convergedCount == 6)
        #expect(many.productCount < 2001, "stops once every sample has converged (\(many.productCount) products)")
        for s in many.spectralNorm { #expect(Swift.abs(s - 3) < 1e-2) }
    }

    /// G1–G3 in closed form: two-class linear logits, ℓ = softplus(−m), m = (w_y − w_{1−y})·x.
    @Test("G1–G3 match the closed form of a two-class linear model")
    func closedFormLinearModel() {
        let w: [[Float]] = [[0.5, -1, 0.25], [-0.3, 0.8, 1.2]]
        let model = LinearLogits(w)
        let x = Tensor([0.2, -0.4, 1, 1.5, 0.3, -0.7, -0.1, 0.05, 0.3], shape: [3, 3])
        let labels = [1, 0, 1]
        let batch = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 5, tolerance: 1e-4))
            .measure(model: model, at: x, labels: labels)
        let xs = x.scalars
        for i in 0..<3 {
            let y = labels[i]
            let d = (0..<3).map { Double(w[y][$0] - w[1 - y][$0]) }
            let m = (0..<3).reduce(0.0) { $0 + d[$1] * Double(xs[i * 3 + $1]) }
            let sig = { (t: Double) in 1 / (1 + Foundation.exp(-t)) }
            let dNorm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let g1 = sig(-m) * dNorm, g2 = sig(m) * sig(-m) * dNorm * dNorm, g3 = g2 / (g1 + 1e-6)
            #expect(Swift.abs(Double(batch.gradientNorm[i]) - g1) <= 1e-5 * g1 + 1e-7, "G1 \(batch.gradientNorm[i]) vs \(g1)")
            #expect(Swift.abs(Double(batch.spectralNorm[i]) - g2) <= 1e-4 * g2, "G2 \(batch.spectralNorm[i]) vs \(g2)")
            #expect(Swift.abs(Double(batch.curvature[i]) - g3) <= 1e-4 * g3, "G3 \(batch.curvature[i]) vs \(g3)")
            #expect(batch.power.dominantEigenvalue[i] > 0 && batch.power.converged[i], "rank one, PSD: converged")
        }
    }

    /// G4: Hutchinson's mean of ‖Hz‖² converges to ‖H‖_F².
    @Test("Hutchinson estimate converges to the exact Frobenius norm", arguments: HutchinsonFrobenius.Probe.allCases)
    func hutchinsonConverges(probe: HutchinsonFrobenius.Probe) {
        let model = MeasurementFixtures.mlp(features: 6, seed: 21)
        let x = Fixtures.normal([3, 6], seed: 15)
        let h = InputHessian(model: model, at: x, labels: [0, 2, 1])
        let estimate = HutchinsonFrobenius(samples: 3000, probe: probe, seed: 3).run(h)
        for i in 0..<3 {
            let exact = MeasurementFixtures.frobeniusNorm(MeasurementFixtures.fullHessian(h, sample: i))
            let rel = Swift.abs(Double(estimate.frobeniusNorm[i]) - exact) / exact
            #expect(rel < 0.04, "\(probe) sample \(i): \(estimate.frobeniusNorm[i]) vs exact \(exact)")
        }
        // One probe is a noisy but unbiased estimate: it differs from the exact value.
        let one = HutchinsonFrobenius(samples: 1, probe: probe, seed: 3).run(h)
        #expect(one.squaredFrobeniusNorm[0] > 0)
    }

    /// G5 on an isotropic quadratic: ∇ℓ(x+ε) − ∇ℓ(x) = cε, so ρ = ‖ε‖·c/‖∇ℓ‖ = ‖ε‖·C(x) exactly.
    @Test("G5 follows the theory line on a quadratic loss (exact for A = cI, below it otherwise)")
    func robustnessQuadratic() {
        let d = 5
        let iso = (0..<d).map { r in (0..<d).map { c in Float(r == c ? 2 : 0) } }
        let b: [Float] = [1, -0.5, 0.2, 0.3, -1]
        let x = Fixtures.normal([4, d], seed: 16)
        let robust = GradientRobustness(levels: 3, draws: 2, seed: 5)
        #expect(robust.noiseNorms.count == 3 && Swift.abs(robust.noiseNorms[1] - 1e-2) < 1e-6, "log spacing: \(robust.noiseNorms)")
        let m = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 50, tolerance: 1e-5),
                                     robustness: robust)
        let batch = m.measure(at: x, loss: MeasurementFixtures.quadraticLoss(a: iso, b: b))
        let summary = CurvatureSummary(batches: [batch], measurement: m)
        for (level, r) in robust.noiseNorms.enumerated() {
            let ratios = batch.robustnessRatios![level]
            #expect(ratios.count == 8)
            for (k, ratio) in ratios.enumerated() {
                let expected = r * batch.curvature[k % 4]
                #expect(Swift.abs(ratio - expected) <= 2e-3 * expected + 1e-6, "ρ \(ratio) vs ‖ε‖C \(expected)")
            }
            let point = summary.robustness![level]
            #expect(Swift.abs(point.ratio.mean - point.theory) <= 2e-3 * point.theory, "mean ρ on the theory line")
        }

        // Anisotropic A: ρ ≤ ‖ε‖·C(x) for random ε, with equality along the top eigenvector.
        let a = MeasurementFixtures.symmetric(eigenvalues: [3, -1, 0.5, 2, 0.1], seed: 4)
        let loss = MeasurementFixtures.quadraticLoss(a: a, b: b)
        let aniso = m.measure(at: x, loss: loss)
        for (level, r) in robust.noiseNorms.enumerated() {
            for (k, ratio) in aniso.robustnessRatios![level].enumerated() {
                #expect(ratio <= r * aniso.curvature[k % 4] * 1.002, "ρ below the line")
            }
        }
        let g = InputHessian(at: x, loss: loss).gradientValue
        let r: Float = 0.05
        let shifted = GradientRobustness.gradient(of: loss, at: x + aniso.power.direction * r)
        let along = zip(PerSample.distance(shifted, g), PerSample.norm(g)).map { $0 / $1 }
        for i in 0..<4 { #expect(Swift.abs(along[i] - r * aniso.curvature[i]) <= 2e-3 * along[i], "equality along u_top") }
    }

    /// Eval mode: each sample's values do not depend on the rest of its batch (BN in eval mode).
    @Test("Per-sample results do not depend on the other samples in the batch")
    func perSampleIndependence() {
        let model = MeasurementFixtures.mlp(features: 6, seed: 8, batchNorm: true)
        let x = Fixtures.normal([5, 6], seed: 17)
        let labels = [0, 1, 2, 0, 1]
        let m = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 400, tolerance: 1e-6),
                                     hutchinson: nil)
        let full = m.measure(model: model, at: x, labels: labels)
        let hFull = InputHessian(model: model, at: x, labels: labels)
        let v = Fixtures.normal([5, 6], seed: 18)
        let hvFull = hFull.hvp(v).scalars
        for i in [0, 3] {
            let xi = x[rows: i..<(i + 1)].copy()
            let alone = m.measure(model: model, at: xi, labels: [labels[i]])
            #expect(Swift.abs(alone.gradientNorm[0] - full.gradientNorm[i]) <= 1e-5 * full.gradientNorm[i])
            #expect(Swift.abs(alone.spectralNorm[0] - full.spectralNorm[i]) <= 1e-3 * full.spectralNorm[i])
            #expect(Swift.abs(alone.curvature[0] - full.curvature[i]) <= 1e-3 * full.curvature[i])
            let hvAlone = InputHessian(model: model, at: xi, labels: [labels[i]]).hvp(v[rows: i..<(i + 1)].copy()).scalars
            for j in 0..<6 { #expect(Swift.abs(hvAlone[j] - hvFull[i * 6 + j]) <= 1e-5 + 1e-4 * Swift.abs(hvFull[i * 6 + j])) }
        }
    }

    /// The HVPs reuse one recorded gradient: repeated products agree with a fresh `hvp`.
    @Test("Reusing the recorded gradient gives the same HVPs as TensorCore's hvp")
    func reusedGraphMatchesHVP() {
        let model = TinyConvNet(seed: 6)
        let x = Fixtures.uniform([2, 1, 6, 6], seed: 19)
        let h = InputHessian(model: model, at: x, labels: [1, 2])
        for seed in 0..<3 as Range<UInt64> {
            let v = Fixtures.normal(x.shape, seed: 30 + seed)
            let reused = h.hvp(v).scalars
            let input = x.detached().requiringGrad()
            let loss = inference { withGrad { crossEntropy(logits: model(input), labels: [1, 2], reduction: .sum) } }
            let fresh = hvp(of: loss, wrt: input, along: v).scalars
            for (a, b) in zip(reused, fresh) { #expect(Swift.abs(a - b) <= 1e-6 + 1e-5 * Swift.abs(b)) }
        }
    }

    /// Summary over a dataset, JSON round trip, and G6.
    @Test("evaluate summarises a dataset (mean ± std, converged count, JSON) and G6 is |test − train|/test")
    func summaryAndDiscrepancy() throws {
        let model = MeasurementFixtures.mlp(features: 2, classes: 2, seed: 2)
        let train = TwoMoons.make(count: 30, noise: 0.1, seed: 1), test = TwoMoons.make(count: 20, noise: 0.1, seed: 2)
        let m = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 50, tolerance: 1e-4),
                                     hutchinson: HutchinsonFrobenius(samples: 20), robustness: GradientRobustness(levels: 2))
        let s = CurvatureSummary.evaluate(model: model, dataset: train, count: 25, batchSize: 10, measurement: m)
        #expect(s.count == 25)
        #expect(s.convergedCount <= 25 && s.convergedCount >= 20)
        #expect(s.gradientNorm.mean > 0 && s.spectralNorm.mean > 0 && s.curvature.std >= 0)
        #expect(s.frobeniusNorm!.mean >= s.spectralNorm.mean * 0.5, "‖H‖_F ≳ ‖H‖₂ (Monte-Carlo)")
        #expect(s.robustness!.count == 2)
        // Batching does not change the per-sample values (up to the power iteration's tolerance).
        let whole = CurvatureSummary.evaluate(model: model, dataset: train, count: 25, batchSize: 25, measurement: m)
        #expect(Swift.abs(whole.gradientNorm.mean - s.gradientNorm.mean) <= 1e-5 * s.gradientNorm.mean)
        #expect(Swift.abs(whole.spectralNorm.mean - s.spectralNorm.mean) <= 1e-2 * s.spectralNorm.mean)
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(CurvatureSummary.self, from: data) == s)

        let t = CurvatureSummary.evaluate(model: model, dataset: test, batchSize: 8, measurement: m)
        let g6 = TrainTestDiscrepancy(train: s, test: t)
        #expect(Swift.abs(g6.gradientNorm - Swift.abs(t.gradientNorm.mean - s.gradientNorm.mean) / t.gradientNorm.mean) < 1e-12)
        #expect(TrainTestDiscrepancy.discrepancy(train: 3, test: 4) == 0.25)
        #expect(TrainTestDiscrepancy.discrepancy(train: 5, test: 4) == 0.25)
        #expect(TrainTestDiscrepancy.discrepancy(train: 0, test: 0) == 0)
        #expect(MeanStd([1.0, 3.0]) == MeanStd(mean: 2, std: 1, count: 2))
    }
}

