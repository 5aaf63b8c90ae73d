import Datasets
import Foundation
import NN
import TensorCore
import Testing
@testable import LCNNKit

/// `lcnn demo`'s summary: the sentence follows the paired test, the cost is per optimiser step,
/// the exact 2-D curvature agrees with G3 where G3's ε does not matter, and the penalty rule
/// picks the largest admissible weights.
@Suite("Demo summary")
struct DemoSummaryTests {
    static func comparison(_ difference: Double, lower: Double, upper: Double, p: Double, count: Int = 150) -> Comparison {
        Comparison(difference: difference, interval: ConfidenceInterval(lower: lower, upper: upper, level: 0.95), pValue: p,
                   test: "paired bootstrap", count: count)
    }

    @Test("significantly lower: the factor Standard/LCNN, the test and its p-value")
    func sentenceLower() {
        let s = MoonsSummary.sentence(quantity: "mean curvature C(x) of the loss", labelNoise: 0, lcnnMean: 5, standardMean: 15.5,
                                      comparison: Self.comparison(-10.5, lower: -12, upper: -9, p: 5e-5))
        #expect(s == "With clean labels the LCNN's mean curvature C(x) of the loss is 3.1× lower than Standard's "
                + "(5 vs 15.5; paired bootstrap over 150 test points, p < 1e-4).")
    }

    @Test("significantly higher: says so, and that the claim is not borne out")
    func sentenceHigher() {
        let s = MoonsSummary.sentence(quantity: "mean curvature C(x) of the loss", labelNoise: 0.2, lcnnMean: 15.9,
                                      standardMean: 14.4, comparison: Self.comparison(1.5, lower: 0.5, upper: 2.5, p: 0.003))
        #expect(s.hasPrefix("With 20% flipped labels the LCNN's mean curvature C(x) of the loss is 1.1× higher than Standard's"))
        #expect(s.contains("p = 0.003") && s.contains("not borne out"))
        #expect(!s.contains("lower than"))
    }

    @Test("not significant, in either direction: 'not significantly different' with the p-value")
    func sentenceNotSignificant() {
        for (difference, p) in [(-2.0, 0.4), (2.0, 0.06), (-2.0, 0.05)] {
            let s = MoonsSummary.sentence(quantity: "mean curvature C(x) of the loss", labelNoise: 0, lcnnMean: 10,
                                          standardMean: 10 - difference,
                                          comparison: Self.comparison(difference, lower: -5, upper: 5, p: p))
            #expect(s.contains("is not significantly different from Standard's"), "\(s)")
            #expect(!s.contains("lower than") && !s.contains("higher than"))
        }
        let s = MoonsSummary.sentence(quantity: "x", labelNoise: 0, lcnnMean: 1, standardMean: 2,
                                      comparison: Self.comparison(-1, lower: -2, upper: 0.1, p: 0.4))
        #expect(s.contains("p = 0.400"))
        let undefined = MoonsSummary.sentence(quantity: "x", labelNoise: 0, lcnnMean: .nan, standardMean: 2,
                                              comparison: .undefined(test: "paired bootstrap", count: 0, level: 0.95))
        #expect(undefined.contains("could not be compared"))
    }

    @Test("the sentence follows a real paired bootstrap on constructed per-sample values")
    func findingsFromRows() {
        func row(_ method: TrainingMethod, _ curvature: [Double]) -> MoonsSummary.Row {
            let values = MoonsCurvature.Values(margin: curvature.map { _ in 3 }, lossGradientNorm: curvature.map { _ in 0.1 },
                                               lossCurvature: curvature, marginGradientNorm: curvature.map { _ in 1 },
                                               marginCurvature: curvature.map { _ in 1 })
            let e = Estimate(value: 0, interval: .undefined(level: 0.95))
            return MoonsSummary.Row(name: method.rawValue, method: method, labelNoise: 0, accuracy: e, gradientNorm: e,
                                    curvature: e, marginCurvature: e, robustAccuracy: e, robustEpsilon: 0.2,
                                    millisecondsPerStep: nil, saturatedCount: 0, beta: nil, gamma: nil,
                                    curvatureValues: values)
        }
        let standard = (0..<100).map { 10 + Double($0 % 7) }
        let lower = MoonsSummary(rows: [row(.standard, standard), row(.lcnn, standard.map { $0 / 4 })]).findings
        #expect(lower.count == 2)
        #expect(lower[0].verdict == .bornOut && lower[0].sentence.contains("4× lower"))
        #expect(lower[1].verdict == .inconclusive, "equal margin curvatures: \(lower[1].sentence)")
        let higher = MoonsSummary(rows: [row(.standard, standard), row(.lcnn, standard.map { $0 + 1 })]).findings
        #expect(higher[0].verdict == .contradicted && higher[0].sentence.contains("higher than Standard's"))
    }

    static func metrics(_ trainSeconds: Double, steps: Int?) -> EpochMetrics {
        EpochMetrics(epoch: 0, learningRate: 1e-3, trainLoss: 0, trainAccuracy: 0, testLoss: 0, testAccuracy: 0, terms: [:],
                     meanBeta: nil, meanGamma: nil, trainSeconds: trainSeconds, evalSeconds: 0, samplesPerSecond: 0,
                     steps: steps)
    }

    @Test("cost: median over epochs of milliseconds per optimiser step; epochs without steps are skipped")
    func costPerStep() throws {
        // 3 steps in 9 ms, 3 in 12 ms, 3 in 300 ms (a stalled epoch), 6 in 24 ms: 3, 4, 100, 4 ms per step.
        let odd = [Self.metrics(0.009, steps: 3), Self.metrics(0.012, steps: 3), Self.metrics(0.3, steps: 3)]
        #expect(abs(try #require(MoonsSummary.millisecondsPerStep(odd)) - 4) < 1e-9)
        let even = odd + [Self.metrics(0.024, steps: 6), Self.metrics(1, steps: nil), Self.metrics(1, steps: 0)]
        #expect(abs(try #require(MoonsSummary.millisecondsPerStep(even)) - 4) < 1e-9)
        let twoMiddles = [Self.metrics(0.003, steps: 1), Self.metrics(0.005, steps: 1)]
        #expect(abs(try #require(MoonsSummary.millisecondsPerStep(twoMiddles)) - 4) < 1e-9)
        #expect(MoonsSummary.millisecondsPerStep([Self.metrics(1, steps: nil)]) == nil)
        #expect(MoonsSummary.millisecondsPerStep([]) == nil)
    }

    @Test("2-D algebra: spectral norms, and C(x) of the loss = σ(m)‖∇m‖ for a linear margin")
    func curvatureAlgebra() {
        #expect(abs(MoonsCurvature.spectralNorm(1, 0, -3) - 3) < 1e-12)
        #expect(abs(MoonsCurvature.spectralNorm(2, 1, 2) - 3) < 1e-12)
        #expect(abs(MoonsCurvature.spectralNorm(-2, 1, -2) - 3) < 1e-12)
        // Linear margin: ∇²m = 0, so ∇²ℓ = σ(−m)σ(m)∇m∇mᵀ with norm σ(−m)σ(m)‖∇m‖².
        let v = MoonsCurvature.values(margin: 40, gradient: [3, 4], hessian: [0, 0, 0, 0])
        #expect(abs(v.lossCurvature - 5 / (1 + exp(-40))) < 1e-9)
        #expect(v.lossGradientNorm > 0 && v.lossGradientNorm < 1e-15, "G1 = σ(−40)·5 ≈ 2e-17 and still a number")
        #expect(v.marginCurvature == 0 && v.marginGradientNorm == 5)
        // A curved margin with a small slope: the network's own curvature ‖∇²m‖/‖∇m‖.
        let w = MoonsCurvature.values(margin: -2, gradient: [0.5, 0], hessian: [0, 2, 2, 0])
        #expect(abs(w.marginCurvature - 4) < 1e-12)
    }

    @Test("the margin algebra gives the cross-entropy's own input Hessian, and G1 of G3, where ‖∇ₓℓ‖ ≫ ε")
    func agreesWithCrossEntropyHessian() throws {
        let data = TwoMoons.make(count: 60, noise: 0.2, seed: 4)
        for lcnn in [false, true] {
            var config = ModelConfig(architecture: .mlp, lcnn: lcnn, inputShape: [2], classes: 2, hiddenWidths: [16, 16], seed: 2)
            config.activation = lcnn ? .centeredSoftplus : .softplus
            config.softplusBeta = lcnn ? 1000 : 2
            let model = config.makeModel()
            let exact = MoonsCurvature.measure(model: model, dataset: data, batchSize: 25)
            #expect(exact.count == 60)
            // The cross-entropy's Hessian read in full by two Hessian-vector products, and its gradient.
            let hessian = InputHessian(model: model, at: data.images, labels: data.labels)
            let columns = (0..<2).map { axis in
                hessian.hvp(Tensor((0..<60).flatMap { _ in axis == 0 ? [Float(1), 0] : [0, 1] }, shape: [60, 2])).scalars
            }
            let gradient = hessian.gradientValue.scalars
            let g3 = CurvatureSummary.evaluate(model: model, dataset: data, batchSize: 25)
            let perSample = try #require(g3.perSample)
            var compared = 0
            for i in 0..<60 {
                let g1 = (Double(gradient[2 * i]) * Double(gradient[2 * i]) + Double(gradient[2 * i + 1]) * Double(gradient[2 * i + 1])).squareRoot()
                guard g1 > 1e-3 else { continue }
                compared += 1
                let norm = MoonsCurvature.spectralNorm(Double(columns[0][2 * i]), Double(columns[0][2 * i + 1] + columns[1][2 * i]) / 2,
                                                       Double(columns[1][2 * i + 1]))
                #expect(abs(exact.lossGradientNorm[i] - g1) <= 1e-3 * g1, "G1 at \(i): \(exact.lossGradientNorm[i]) vs \(g1)")
                #expect(abs(exact.lossGradientNorm[i] - Double(perSample.gradientNorm[i])) <= 1e-3 * g1)
                #expect(abs(exact.lossCurvature[i] - norm / g1) <= 1e-3 * (norm / g1) + 1e-5,
                        "C at \(i): \(exact.lossCurvature[i]) vs \(norm / g1)")
                // Power iteration (G3) never exceeds the exact spectral norm.
                #expect(Double(perSample.curvature[i]) <= exact.lossCurvature[i] * (1 + 1e-3) + 1e-5)
            }
            #expect(compared > 30)
        }
    }

    @Test("penalty rule: the largest admissible pair; without a rectangle, the largest product")
    func penaltyChoice() {
        func candidate(_ beta: Float, _ gamma: Float, _ ok: Bool) -> MoonsExperiment.PenaltyCandidate {
            .init(penalty: LCNNPenalty(form: .paper, betaWeight: beta, gammaWeight: gamma), validationAccuracy: ok ? 0.99 : 0.5,
                  meanBeta: nil, meanGamma: nil, admissible: ok)
        }
        let rectangle = MoonsExperiment.PenaltySelection(standardAccuracy: 0.99, tolerance: 0.01, validationCount: 10, candidates: [
            candidate(1e-4, 1e-5, true), candidate(1e-4, 1e-3, true), candidate(1e-2, 1e-5, true), candidate(1e-2, 1e-3, true),
            candidate(1, 1e-5, false), candidate(1e-4, 1, false),
        ])
        #expect(rectangle.chosen?.penalty == LCNNPenalty(form: .paper, betaWeight: 1e-2, gammaWeight: 1e-3))
        let staircase = MoonsExperiment.PenaltySelection(standardAccuracy: 0.99, tolerance: 0.01, validationCount: 10, candidates: [
            candidate(1e-1, 1e-5, true), candidate(1e-3, 1e-2, true), candidate(1e-1, 1e-2, false),
        ])
        #expect(staircase.chosen?.penalty.gammaWeight == 1e-2, "1e-3·1e-2 > 1e-1·1e-5")
        let none = MoonsExperiment.PenaltySelection(standardAccuracy: 0.99, tolerance: 0.01, validationCount: 10,
                                                    candidates: [candidate(1, 1, false)])
        #expect(none.chosen == nil)
        #expect(MoonsExperiment().penalty == MoonsExperiment.selectedPenalty)
        #expect(MoonsExperiment().runs.filter { $0.method == .lcnn }.allSatisfy { $0.config.objective.penalty == MoonsExperiment.selectedPenalty })
    }
}
