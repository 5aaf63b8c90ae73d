import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// Fixtures for the attack tests: a small MLP trained on separable synthetic 1×6×6 images, exact
/// linear classifiers, and inputs with pixels exactly at 0 and 1.
enum AttackFixtures {
    /// 3 classes; class c adds 0.35 to the pixels of band c (rows 2c, 2c+1) of uniform noise,
    /// clamped to [0, 1] (so many pixels sit exactly at 1).
    static func bands(count: Int, seed: UInt64) -> Dataset {
        var g = SeededGenerator(seed: seed)
        let u = Tensor.uniform([count, 1, 6, 6], generator: &g).scalars
        var values = u
        let labels = (0..<count).map { $0 % 3 }
        for i in 0..<count {
            for p in 0..<36 where p / 12 == labels[i] { values[i * 36 + p] = Swift.min(1, values[i * 36 + p] + 0.35) }
        }
        return Dataset(name: "bands", images: Tensor(values, shape: [count, 1, 6, 6]), labels: labels, classes: 3)
    }

    /// An MLP (36 → 32 → 3, softplus β = 1000) trained for 120 SGD steps on `bands`.
    static func trainedModel() -> any Layer {
        let model = ModelConfig(architecture: .mlp, inputShape: [36], classes: 3, hiddenWidths: [32], seed: 4).makeModel()
        let data = bands(count: 192, seed: 1)
        let loader = DataLoader(dataset: data, batchSize: 32, shuffle: true, seed: 2)
        let sgd = SGD(parameters: model.namedParameters, learningRate: 0.1, momentum: 0.9)
        var step = 0
        for epoch in 0..<20 {
            for batch in loader.batches(epoch: epoch) where step < 120 {
                training {
                    let loss = crossEntropy(logits: model(batch.images), labels: batch.labels)
                    sgd.zeroGrad()
                    loss.backward()
                    sgd.step()
                }
                step += 1
            }
        }
        return model
    }

    /// Images whose pixels include exact 0s and 1s and values next to them.
    static func edgeInputs(_ n: Int = 12) -> (x: Tensor, labels: [Int]) {
        let palette: [Float] = [0, 1, 0, 1, 0.5, 0.01, 0.99, 0.3]
        let values = (0..<(n * 36)).map { palette[($0 * 7 + $0 / 36) % palette.count] }
        return (Tensor(values, shape: [n, 1, 6, 6]), (0..<n).map { $0 % 3 })
    }

    /// The affine classifier `x ↦ W·flatten(x) + b` with W `[classes, d]`.
    static func affine(_ w: [Float], classes: Int, bias: [Float]) -> Classifier {
        let d = w.count / classes
        let wt = Tensor(w, shape: [classes, d]), b = Tensor(bias, shape: [1, classes])
        return { x in matmul(x.reshaped(to: [x.shape[0], d]), wt, transposeB: true) + b }
    }

    static func maxAbs(_ t: Tensor) -> Float { t.scalars.map { Swift.abs($0) }.max() ?? 0 }

    /// An untrained 10-class MLP (36 → 24 → 10, weights from `modelSeed`) in evaluation mode and
    /// `samples` uniform 6×6 images labelled with its own predictions (all correct at x), for
    /// the attacks that need ≥ 4 classes.
    static func tenClasses(modelSeed: UInt64, samples: Int, generator g: inout SeededGenerator)
        -> (model: any Layer, f: Classifier, x: Tensor, labels: [Int]) {
        let model = ModelConfig(architecture: .mlp, inputShape: [36], classes: 10, hiddenWidths: [24], seed: modelSeed).makeModel()
        let f: Classifier = { x in inference { model(x) } }
        let x = Tensor.uniform([samples, 1, 6, 6], generator: &g)
        return (model, f, x, withoutGrad { f(x) }.argmax(axis: -1))
    }
}

/// A model whose class-0 logit peaks at x = 0 (`1 − x²`, class 1 fixed at 0): a large FGSM step that
/// raises the class-0 logit overshoots the peak, so the attack turns a misclassified input into a
/// correctly classified one.
final class PeakModel: Layer {
    func callAsFunction(_ x: Tensor) -> Tensor {
        let logit0 = 1 - square(x.reshaped(to: [x.shape[0], 1]))
        return matmul(logit0, Tensor([1, 0], shape: [1, 2]))
    }
    func visit(_ visitor: inout TensorVisitor) {}
}

@Suite("Attacks: ε-ball and input range")
struct AttackBallTests {
    @Test("PGD and FGSM stay in the ε-ball and in [0, 1], with inputs at 0 and 1",
          arguments: [AttackKind.pgdL2, .pgdLinf, .fgsmL2, .fgsmLinf])
    func ballAndBox(_ kind: AttackKind) {
        let model = ModelConfig(architecture: .mlp, inputShape: [36], classes: 3, hiddenWidths: [32], seed: 9).makeModel()
        let f: Classifier = { x in inference { model(x) } }
        let (x, labels) = AttackFixtures.edgeInputs()
        for eps: Float in kind.norm == .l2 ? [0.05, 0.2, 1.5] : [0.01, 0.1, 0.4] {
            var g = SeededGenerator(seed: 3)
            let adv = adversarialExamples(kind, f, x, labels: labels, epsilon: eps,
                                          options: AttackOptions(steps: 7, relativeStepSize: 0.3), generator: &g)
            #expect(adv.shape == x.shape)
            #expect(adv.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(kind) ε=\(eps): outside [0, 1]")
            let delta = withoutGrad { adv - x }
            if kind.norm == .l2 {
                let norms = delta.perSampleNorm().scalars
                #expect(norms.allSatisfy { $0 <= eps + 1e-5 }, "\(kind) ε=\(eps): max ℓ2 \(norms.max()!)")
                #expect(norms.max()! > 0.3 * eps, "\(kind) ε=\(eps): the attack moves")
            } else {
                let m = AttackFixtures.maxAbs(delta)
                #expect(m <= eps + 1e-6, "\(kind) ε=\(eps): max |δ| \(m)")
                #expect(m > 0.5 * eps, "\(kind) ε=\(eps): the attack moves")
            }
        }
    }

    @Test("FGSM raises the loss of a trained model", arguments: [PGD.Norm.l2, .linf])
    func fgsmRaisesLoss(_ norm: PGD.Norm) {
        let model = AttackFixtures.trainedModel()
        let data = AttackFixtures.bands(count: 48, seed: 8)
        let f: Classifier = { x in inference { model(x) } }
        let adv = FGSM(norm: norm, epsilon: norm == .l2 ? 0.3 : 0.05).attack(f, data.images, labels: data.labels)
        let clean = withoutGrad { crossEntropy(logits: f(data.images), labels: data.labels) }.item
        let attacked = withoutGrad { crossEntropy(logits: f(adv), labels: data.labels) }.item
        #expect(attacked > clean * 1.05, "loss \(clean) → \(attacked)")
    }
}

@Suite("FGSM on a linear model")
struct FGSMLinearTests {
    static let w: [Float] = [0.5, -2, 0, 1.5, -0.25, 3]

    /// Logits (0, wᵀx): the cross-entropy of label 0 rises along +w, of label 1 along −w.
    static func classifier() -> Classifier { AttackFixtures.affine([0, 0, 0, 0, 0, 0] + w, classes: 2, bias: [0, 0.1]) }

    @Test("ℓ∞ FGSM moves exactly ε·sign(w) (label 0) and −ε·sign(w) (label 1)")
    func linf() {
        let x = Tensor([0.2, 0.4, 0.5, 0.6, 0.3, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], shape: [2, 6])
        let eps: Float = 0.125
        let adv = FGSM(norm: .linf, epsilon: eps, inputRange: nil).attack(Self.classifier(), x, labels: [0, 1])
        let delta = withoutGrad { adv - x }.scalars
        let s = Self.w.map { Float($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) }
        for j in 0..<6 {
            #expect(Swift.abs(delta[j] - eps * s[j]) < 1e-6, "label 0, coordinate \(j): \(delta[j])")
            #expect(Swift.abs(delta[6 + j] + eps * s[j]) < 1e-6, "label 1, coordinate \(j): \(delta[6 + j])")
        }
    }

    @Test("ℓ2 FGSM moves exactly ε·w/‖w‖, and clipping keeps it in [0, 1]")
    func l2() {
        let x = Tensor([Float](repeating: 0.5, count: 6), shape: [1, 6])
        let eps: Float = 0.4
        let adv = FGSM(norm: .l2, epsilon: eps, inputRange: nil).attack(Self.classifier(), x, labels: [0])
        let norm = Self.w.map { $0 * $0 }.reduce(0, +).squareRoot()
        let delta = withoutGrad { adv - x }.scalars
        for j in 0..<6 { #expect(Swift.abs(delta[j] - eps * Self.w[j] / norm) < 1e-6) }
        // At x = 1 everywhere the +w coordinates cannot move up: clipping keeps them at 1.
        let ones = Tensor([Float](repeating: 1, count: 6), shape: [1, 6])
        let clipped = FGSM(norm: .l2, epsilon: eps).attack(Self.classifier(), ones, labels: [0]).scalars
        for j in 0..<6 {
            #expect(clipped[j] == (Self.w[j] >= 0 ? 1 : 1 + eps * Self.w[j] / norm), "coordinate \(j): \(clipped[j])")
        }
    }

    @Test("ε = 0 returns the input")
    func zero() {
        let x = Tensor([0, 0.3, 1, 0.5, 0.2, 0.9], shape: [1, 6])
        #expect(FGSM(epsilon: 0).attack(Self.classifier(), x, labels: [1]).scalars == x.scalars)
    }
}

@Suite("Robust accuracy")
struct RobustAccuracyTests {
    @Test("robust accuracy equals clean accuracy at ε = 0, stays below it, and falls with ε",
          arguments: [AttackKind.pgdL2, .pgdLinf, .fgsmL2, .fgsmLinf, .deepfool])
    func monotone(_ kind: AttackKind) {
        let model = AttackFixtures.trainedModel()
        let test = AttackFixtures.bands(count: 90, seed: 77)
        let eps: [Float] = kind.norm == .l2 ? [0, 0.05, 0.1, 0.15, 0.2, 0.4, 0.8, 1.6] : [0, 0.01, 0.02, 0.05, 0.1, 0.2]
        let report = robustAccuracy(model: model, dataset: test, attack: kind, epsilons: eps,
                                    options: AttackOptions(steps: 10, relativeStepSize: 0.25), batchSize: 32, seed: 5)
        let robust = report.points.map(\.robustAccuracy)
        #expect(report.cleanAccuracy > 0.85, "the fixture model learned the task: \(report.cleanAccuracy)")
        #expect(report.samples == 90 && report.points.count == eps.count)
        #expect(robust[0] == report.cleanAccuracy, "\(kind): ε = 0 leaves every correct sample correct")
        #expect(robust.allSatisfy { $0 <= report.cleanAccuracy }, "\(kind): \(robust)")
        for i in 1..<robust.count { #expect(robust[i] <= robust[i - 1], "\(kind) non-increasing: \(robust)") }
        #expect(robust.last! < report.cleanAccuracy - 0.2, "\(kind): the largest ε breaks samples: \(robust)")
        if kind == .deepfool {
            #expect(report.meanMinimalPerturbation != nil && report.deepFoolSucceeded! > 0)
        }
    }

    @Test("the cumulative option is non-increasing and never above the per-ε numbers")
    func cumulative() {
        let model = AttackFixtures.trainedModel()
        let test = AttackFixtures.bands(count: 60, seed: 78)
        let eps: [Float] = [0.4, 0.1, 0.2]   // any order
        let plain = robustAccuracy(model: model, dataset: test, epsilons: eps, batchSize: 64, seed: 1)
        let cum = robustAccuracy(model: model, dataset: test, epsilons: eps,
                                 options: AttackOptions(cumulative: true), batchSize: 64, seed: 1)
        for i in 0..<3 { #expect(cum.points[i].robustCorrect <= plain.points[i].robustCorrect) }
        #expect(cum.points[0].robustCorrect <= cum.points[2].robustCorrect)
        #expect(cum.points[2].robustCorrect <= cum.points[1].robustCorrect)
    }

    @Test("already-misclassified samples count as not robust even when the attack makes them correct")
    func misclassifiedAreNotRobust() {
        // x = 0.5 with label 1: predicted 0 (logit 0.75 > 0), misclassified; FGSM (ε = 3) raises the
        // class-0 logit along −x, overshoots to x = −2.5 and the prediction becomes 1 = the label.
        // x = 0.5 with label 0: correct, FGSM moves it to 3.5 → predicted 1: broken.
        // x = 5 with label 1: correct, FGSM moves it to 2 → still 1: robust.
        let data = Dataset(name: "peak", images: Tensor([0.5, 0.5, 5], shape: [3, 1]), labels: [1, 0, 1], classes: 2)
        let model = PeakModel()
        var g = SeededGenerator(seed: 0)
        let adv = adversarialExamples(.fgsmLinf, { model($0) }, data.images, labels: data.labels, epsilon: 3,
                                      options: AttackOptions(inputRange: nil), generator: &g)
        #expect(model.predict(adv).argmax(axis: -1) == [1, 1, 1], "the construction: the attack fixes sample 0")
        let report = robustAccuracy(model: model, dataset: data, attack: .fgsmLinf, epsilons: [0, 3],
                                    options: AttackOptions(inputRange: nil), batchSize: 2)
        #expect(report.cleanCorrect == 2)
        #expect(report.points[0].robustCorrect == 2)
        #expect(report.points[1].robustCorrect == 1, "only x = 5 is robust; sample 0 is not, though its attacked label is right")
    }

    @Test("the report round-trips through JSON, one line per ε")
    func json() throws {
        let model = AttackFixtures.trainedModel()
        let report = robustAccuracy(model: model, dataset: AttackFixtures.bands(count: 12, seed: 3), attack: .fgsmL2)
        let lines = report.jsonLines()
        #expect(lines.count == AttackKind.paperEpsilons.count)
        #expect(lines[0].contains("\"attack\":\"fgsm-l2\"") && lines[0].contains("\"robustAccuracy\""))
        let decoded = try JSONDecoder().decode(RobustAccuracyReport.self, from: JSONEncoder().encode(report))
        #expect(decoded == report)
        #expect(AttackKind(rawValue: "pgd-linf") == .pgdLinf && AttackKind.allCases.count == 15)
    }
}

@Suite("DeepFool")
struct DeepFoolTests {
    @Test("on a binary affine classifier one step reaches the boundary: ‖δ‖ = (1 + η)(|f| + 1e-4)/‖w‖")
    func binaryAffine() {
        let w0: [Float] = [0.3, -1, 0.5, 2], w1: [Float] = [-0.7, 0.5, 1, 0.25]
        let f = AttackFixtures.affine(w0 + w1, classes: 2, bias: [0.2, -0.1])
        var g = SeededGenerator(seed: 4)
        let x = Tensor.normal([16, 4], generator: &g)
        let result = DeepFool(inputRange: nil).attack(f, x)
        let w = zip(w1, w0).map { $0 - $1 }
        let wn = w.map { $0 * $0 }.reduce(0, +).squareRoot()
        let logits = f(x).scalars
        for i in 0..<16 {
            let margin = Swift.abs(logits[2 * i + 1] - logits[2 * i])
            let expected = 1.02 * (margin + 1e-4) / wn
            #expect(result.succeeded[i], "sample \(i)")
            #expect(result.steps[i] == 1)
            #expect(result.adversarialLabels[i] != result.originalLabels[i])
            #expect(Swift.abs(result.perturbationNorms[i] - expected) <= 1e-4 * Swift.max(1, expected),
                    "sample \(i): ‖δ‖ \(result.perturbationNorms[i]) vs \(expected) (distance \(margin / wn))")
        }
    }

    @Test("on a 3-class affine classifier ‖δ‖ is at least the exact distance to the class region's boundary")
    func multiclassAffine() {
        let w: [Float] = [1, 0, 0.5, -1, 1, 0, 0, -1, 1, 0.2, 0.3, -0.4]   // 3 × 4
        let bias: [Float] = [0.1, 0, -0.1]
        let f = AttackFixtures.affine(w, classes: 3, bias: bias)
        var g = SeededGenerator(seed: 6)
        let x = Tensor.normal([20, 4], generator: &g)
        let result = DeepFool(inputRange: nil).attack(f, x)
        let logits = f(x).scalars
        for i in 0..<20 {
            let k0 = result.originalLabels[i]
            var nearest = Float.infinity, nearestStep = Float.infinity
            for k in 0..<3 where k != k0 {
                let dw = (0..<4).map { w[k * 4 + $0] - w[k0 * 4 + $0] }
                let dwNorm = dw.map { $0 * $0 }.reduce(0, +).squareRoot()
                let margin = Swift.abs(logits[3 * i + k] - logits[3 * i + k0])
                if margin / dwNorm < nearest { nearest = margin / dwNorm; nearestStep = 1.02 * (margin + 1e-4) / dwNorm }
            }
            #expect(result.succeeded[i])
            #expect(result.perturbationNorms[i] >= nearest * (1 - 1e-4), "sample \(i): below the exact distance")
            if result.steps[i] == 1 {
                #expect(Swift.abs(result.perturbationNorms[i] - nearestStep) <= 1e-5 * Swift.max(1, nearestStep), "sample \(i): one step lands on the nearest boundary")
            }
        }
    }

    @Test("on a trained MLP the successful samples change label, stay in [0, 1], and need small ‖δ‖")
    func trainedMLP() {
        let model = AttackFixtures.trainedModel()
        let data = AttackFixtures.bands(count: 30, seed: 12)
        let f: Classifier = { x in inference { model(x) } }
        let result = DeepFool().attack(f, data.images)
        let after = model.predict(result.adversarial).argmax(axis: -1)
        #expect(result.succeeded.filter { $0 }.count >= 27, "DeepFool breaks almost every sample")
        #expect(result.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(result.originalLabels == model.predict(data.images).argmax(axis: -1))
        let delta = withoutGrad { result.adversarial - data.images }.perSampleNorm().scalars
        for i in 0..<30 where result.succeeded[i] {
            #expect(after[i] != result.originalLabels[i], "sample \(i) reported successful keeps its label")
            #expect(Swift.abs(delta[i] - result.perturbationNorms[i]) < 1e-4)
        }
        // Small: ℓ2 PGD at DeepFool's radius ×1.5 breaks at least as many of those samples as it
        // fails to, i.e. DeepFool's estimate is near the minimal radius, not far beyond it.
        let mean = result.meanPerturbationNorm!
        #expect(mean > 0 && mean < 1.5, "mean ‖δ‖ \(mean)")
        var g = SeededGenerator(seed: 1)
        let pgd = PGD(norm: .l2, epsilon: 0.5 * mean, steps: 20, stepSize: 0.1 * mean)
            .attack(f, data.images, labels: result.originalLabels, generator: &g)
        let pgdBroken = zip(model.predict(pgd).argmax(axis: -1), result.originalLabels).filter { $0 != $1 }.count
        #expect(pgdBroken < 25, "PGD at half DeepFool's mean radius should not break nearly everything (\(pgdBroken))")
    }
}
