import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// SPEC T7 / A1: PGD stays in the ε-ball and in [0, 1], and raises the loss.
@Suite("PGD")
struct PGDTests {
    /// A standard MLP on 1×8×8 "images" (flattened), with 3 classes.
    static func classifier() -> Classifier {
        let model = ModelConfig(architecture: .mlp, inputShape: [64], classes: 3, hiddenWidths: [32], seed: 21).makeModel()
        return { x in inference { model(x) } }
    }

    /// Pixels near 0 and near 1 (so clipping to [0, 1] is exercised), half and half.
    static func inputs(_ n: Int = 16) -> (x: Tensor, labels: [Int]) {
        var g = SeededGenerator(seed: 5)
        let u = Tensor.uniform([n, 1, 8, 8], low: 0, high: 0.04, generator: &g).scalars
        let values = u.enumerated().map { i, v in i % 2 == 0 ? v : 1 - v }
        return (Tensor(values, shape: [n, 1, 8, 8]), (0..<n).map { $0 % 3 })
    }

    static func meanLoss(_ f: Classifier, _ x: Tensor, _ labels: [Int]) -> Float {
        withoutGrad { crossEntropy(logits: f(x), labels: labels) }.item
    }

    @Test("outputs stay in the ε-ball and in [0, 1], and the loss rises",
          arguments: [(PGD.Norm.l2, Float(0.5)), (.linf, Float(0.05))])
    func ballBoxAndLoss(_ norm: PGD.Norm, _ epsilon: Float) {
        let f = Self.classifier()
        let (x, labels) = Self.inputs()
        for randomStart in [false, true] {
            var g = SeededGenerator(seed: 3)
            let attack = PGD(norm: norm, epsilon: epsilon, steps: 10, randomStart: randomStart)
            let adv = attack.attack(f, x, labels: labels, generator: &g)
            #expect(adv.shape == x.shape)
            #expect(adv.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(norm) outputs in [0, 1]")
            let delta = (adv - x).withoutGradValues
            switch norm {
            case .l2:
                let norms = delta.perSampleNorm().scalars
                #expect(norms.allSatisfy { $0 <= epsilon + 1e-5 }, "ℓ2 norms \(norms.max()!) ≤ ε = \(epsilon)")
                #expect(norms.max()! > 0.5 * epsilon, "the attack moves the inputs")
            case .linf:
                let m = delta.scalars.map { Swift.abs($0) }.max()!
                #expect(m <= epsilon + 1e-6, "ℓ∞ |δ| \(m) ≤ ε = \(epsilon)")
                #expect(m > 0.5 * epsilon, "the attack moves the inputs")
            }
            let clean = Self.meanLoss(f, x, labels), attacked = Self.meanLoss(f, adv, labels)
            #expect(attacked > clean + 1e-3, "\(norm) random start \(randomStart): loss \(clean) → \(attacked)")
        }
    }

    @Test("no steps and no random start return x", arguments: PGD.Norm.allCases)
    func zeroStepsIsIdentity(_ norm: PGD.Norm) {
        let (x, labels) = Self.inputs(6)
        var g = SeededGenerator(seed: 1)
        let adv = PGD(norm: norm, epsilon: 0.3, steps: 0, randomStart: false).attack(Self.classifier(), x, labels: labels, generator: &g)
        #expect(adv.scalars == x.scalars)
    }

    @Test("a random start alone stays in the ball and in [0, 1]", arguments: PGD.Norm.allCases)
    func randomStartOnly(_ norm: PGD.Norm) {
        let (x, labels) = Self.inputs(6)
        var g = SeededGenerator(seed: 1)
        let eps: Float = norm == .l2 ? 0.4 : 0.03
        let adv = PGD(norm: norm, epsilon: eps, steps: 0, randomStart: true).attack(Self.classifier(), x, labels: labels, generator: &g)
        #expect(adv.scalars != x.scalars)
        #expect(adv.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let delta = (adv - x).withoutGradValues
        if norm == .l2 { #expect(delta.perSampleNorm().scalars.allSatisfy { $0 <= eps + 1e-5 }) }
        else { #expect(delta.scalars.allSatisfy { Swift.abs($0) <= eps + 1e-6 }) }
    }

    @Test("the default step size is 2.5·ε/steps")
    func defaultStepSize() {
        #expect(PGD(epsilon: 0.1, steps: 3).stepSize == Float(2.5) * Float(0.1) / Float(3))
        #expect(PGD(epsilon: 0.1, steps: 3, stepSize: 0.01).stepSize == 0.01)
    }
}

extension Tensor {
    /// The values as a fresh tensor with no history.
    fileprivate var withoutGradValues: Tensor { copy() }
}
