import Datasets
import Foundation
@testable import LCNNKit
import NN
import TensorCore
import Testing

/// APGD-CE, APGD-T, Square and the AutoAttack sequence: inside the ε-ball and [0, 1], the
/// published schedule, the DLR loss, and the known minimal perturbation of linear classifiers.
@Suite("AutoAttack: APGD, Square and the sequence")
struct AutoAttackTests {
    static let kinds: [AttackKind] = [.apgdCEL2, .apgdCELinf, .apgdTL2, .apgdTLinf, .fabTL2, .fabTLinf, .squareL2, .squareLinf, .autoattackL2, .autoattackLinf]

    @Test("every attack stays in the ε-ball and in [0, 1], with inputs at 0 and 1", arguments: kinds)
    func ballAndBox(_ kind: AttackKind) {
        // 10 classes, so that APGD-T (≥ 4 classes) applies.
        let model = ModelConfig(architecture: .mlp, inputShape: [36], classes: 10, hiddenWidths: [32], seed: 9).makeModel()
        let f: Classifier = { x in inference { model(x) } }
        let (x, _) = AttackFixtures.edgeInputs()
        let labels = withoutGrad { f(x) }.argmax(axis: -1)
        var options = AttackOptions()
        options.apgdIterations = 12
        options.squareQueries = 60
        for eps: Float in kind.norm == .l2 ? [0.05, 0.5, 2] : [0.01, 0.1, 0.4] {
            var g = SeededGenerator(seed: 5)
            let adv = adversarialExamples(kind, f, x, labels: labels, epsilon: eps, options: options, generator: &g)
            #expect(adv.shape == x.shape)
            #expect(adv.scalars.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(kind) ε=\(eps): outside [0, 1]")
            let delta = withoutGrad { adv - x }
            if kind.norm == .l2 {
                let largest = delta.perSampleNorm().scalars.max()!
                #expect(largest <= eps * (1 + 1e-5) + 1e-6, "\(kind) ε=\(eps): ‖δ‖₂ up to \(largest)")
            } else {
                let largest = AttackFixtures.maxAbs(delta)
                #expect(largest <= eps + 1e-6, "\(kind) ε=\(eps): max |δ| \(largest)")
            }
        }
    }

    @Test("APGD's checkpoints follow p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)")
    func checkpoints() {
        #expect(APGD.checkpoints(iterations: 100) == [22, 41, 57, 70, 80, 87, 93, 99])
        #expect(APGD.checkpoints(iterations: 10) == [2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(APGD.checkpoints(iterations: 1) == [1])
    }

    @Test("the DLR losses on hand-computed logits")
    func dlr() {
        let z = Tensor([5, 1, 3, 2, 0, /**/ 0, 4, 1, 2, 3], shape: [2, 5])
        // Sample 0: y = 2 (z = 3), order 0, 2, 3, 1, 4: π1 = 5, π3 = 2, π4 = 1; target 3 (z = 2).
        // Sample 1: y = 1 (z = 4), order 1, 4, 3, 2, 0: π1 = 4, π3 = 2, π4 = 1; target 4 (z = 3).
        let targeted = AttackLoss.targetedDLR(targets: [3, 4]).perSample(z, labels: [2, 1]).scalars
        #expect(Swift.abs(targeted[0] - -(3 - 2) / (5 - 1.5)) < 1e-6)
        #expect(Swift.abs(targeted[1] - -(4 - 3) / (4 - 1.5)) < 1e-6)
        let untargeted = AttackLoss.dlr.perSample(z, labels: [2, 1]).scalars
        #expect(Swift.abs(untargeted[0] - -(3 - 5) / (5 - 2)) < 1e-6)
        #expect(Swift.abs(untargeted[1] - -(4 - 3) / (4 - 2)) < 1e-6)
        #expect(AttackLoss.margins(z, labels: [2, 1]) == [-2, 1])
        // Invariant to shifting and scaling the logits.
        let scaled = AttackLoss.targetedDLR(targets: [3, 4]).perSample(z * 7 + 3, labels: [2, 1]).scalars
        for (a, b) in zip(scaled, targeted) { #expect(Swift.abs(a - b) < 1e-5) }
    }

    /// Logits (wᵀx, −wᵀx) + b: a sample with score s = 2wᵀx + b₀ − b₁ has label 0 when s > 0,
    /// else 1, and its minimal ℓp perturbation is |s|/(2‖w‖_q) (q the dual norm: ℓ2 ↔ ℓ2, ℓ∞ ↔ ℓ1).
    static let w: [Float] = [0.5, -2, 0.25, 1.5, -0.75, 3, 1, -1]
    static var linear: Classifier { AttackFixtures.affine(w + w.map { -$0 }, classes: 2, bias: [0.3, 0]) }
    static func score(_ x: [Float]) -> Float { 2 * zip(w, x).map(*).reduce(0, +) + 0.3 }
    static func minimal(_ x: [Float], norm: PGD.Norm) -> Float {
        let dual = norm == .l2 ? w.map { $0 * $0 }.reduce(0, +).squareRoot() : w.map(Swift.abs).reduce(0, +)
        return Swift.abs(score(x)) / (2 * dual)
    }

    @Test("APGD-CE finds the minimal perturbation of a linear classifier, and nothing inside it", arguments: [PGD.Norm.l2, .linf])
    func linearMinimalPerturbation(_ norm: PGD.Norm) {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.uniform([6, 8], low: 0.2, high: 0.8, generator: &g)
        let rows = (0..<6).map { Array(x.scalars[($0 * 8)..<($0 * 8 + 8)]) }
        let radii = rows.map { Self.minimal($0, norm: norm) }
        for i in 0..<6 {
            let xi = x.samples([i])
            let label = Self.score(rows[i]) > 0 ? 0 : 1
            for (factor, breaks) in [(Float(1.03), true), (Float(0.97), false)] {
                var gi = SeededGenerator(seed: UInt64(i))
                let r = APGD(norm: norm, epsilon: factor * radii[i], iterations: 40, inputRange: nil)
                    .attack(Self.linear, xi, labels: [label], generator: &gi)
                #expect(r.robust == [!breaks], "sample \(i), ε = \(factor)·r*: robust \(r.robust)")
            }
        }
    }

    @Test("Square (black-box) breaks the linear classifier beyond the minimal ℓ∞ perturbation, never inside it")
    func squareLinear() {
        var g = SeededGenerator(seed: 12)
        let x = Tensor.uniform([6, 1, 2, 4], low: 0.2, high: 0.8, generator: &g)
        let rows = (0..<6).map { Array(x.scalars[($0 * 8)..<($0 * 8 + 8)]) }
        let radii = rows.map { Self.minimal($0, norm: .linf) }
        for i in 0..<6 {
            for (factor, breaks) in [(Float(1.1), true), (Float(0.97), false)] {
                var gi = SeededGenerator(seed: UInt64(i))
                let r = SquareAttack(norm: .linf, epsilon: factor * radii[i], queries: 400, inputRange: nil)
                    .attack(Self.linear, x.samples([i]), labels: [Self.score(rows[i]) > 0 ? 0 : 1], generator: &gi)
                #expect(r.robust == [!breaks], "sample \(i), ε = \(factor)·r*: robust \(r.robust)")
            }
        }
    }

    @Test("Square on flat [B, d] inputs (two moons' shape) queries subsets of the batch without a shape error")
    func squareFlatBatch() {
        var g = SeededGenerator(seed: 13)
        let x = Tensor.uniform([6, 8], low: 0.2, high: 0.8, generator: &g)
        let rows = (0..<6).map { Array(x.scalars[($0 * 8)..<($0 * 8 + 8)]) }
        // Half the labels are wrong: those samples are not attacked, so the queries use row subsets.
        let labels = rows.enumerated().map { i, r in (Self.score(r) > 0 ? 0 : 1) ^ (i % 2) }
        let r = SquareAttack(norm: .l2, epsilon: 0.5, queries: 50, inputRange: 0...1).attack(Self.linear, x, labels: labels, generator: &g)
        #expect(r.adversarial.shape == [6, 8])
        for i in stride(from: 1, to: 6, by: 2) { #expect(!r.robust[i]) }
    }

    @Test("AutoAttack: each stage leaves no more robust samples than the one before, and no more than APGD-CE alone")
    func sequence() {
        let model = AttackFixtures.trainedModel()
        let data = AttackFixtures.bands(count: 48, seed: 8)
        let f: Classifier = { x in inference { model(x) } }
        var g = SeededGenerator(seed: 1)
        let aa = AutoAttack(norm: .l2, epsilon: 0.6, iterations: 20, squareQueries: 100)
        let (result, stages) = aa.attack(f, data.images, labels: data.labels, generator: &g)
        #expect(stages.map(\.attack) == ["apgd-ce", "fab-t", "square"], "3 classes: APGD-T needs 4, FAB-T 2")
        #expect(zip(stages, stages.dropFirst()).allSatisfy { $0.robust >= $1.robust })
        #expect(result.robust.filter { $0 }.count == stages.last!.robust)
        var g2 = SeededGenerator(seed: 1)
        let alone = APGD(norm: .l2, epsilon: 0.6, iterations: 20).attack(f, data.images, labels: data.labels, generator: &g2)
        #expect(zip(result.robust, alone.robust).allSatisfy { !$0 || $1 }, "AutoAttack keeps a sample APGD-CE broke")
        // The reported outcome is the classification of the returned points.
        let after = withoutGrad { f(result.adversarial) }.argmax(axis: -1)
        let clean = withoutGrad { f(data.images) }.argmax(axis: -1)
        for i in data.labels.indices where clean[i] == data.labels[i] {
            #expect((after[i] == data.labels[i]) == result.robust[i], "sample \(i)")
        }
    }

    @Test("APGD-T on 10 classes runs one targeted pass per target and is at least as strong as its first target alone")
    func targeted() {
        var g = SeededGenerator(seed: 2)
        let (_, f, x, labels) = AttackFixtures.tenClasses(modelSeed: 3, samples: 16, generator: &g)
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let apgd = APGD(norm: .linf, epsilon: 0.02, iterations: 10)
        let all = apgd.targetedAttack(f, x, labels: labels, targetClasses: 9, generator: &g1)
        let first = apgd.targetedAttack(f, x, labels: labels, targetClasses: 1, generator: &g2)
        #expect(all.gradientEvaluations == 9 * 11 && first.gradientEvaluations == 11)
        #expect(zip(all.robust, first.robust).allSatisfy { !$0 || $1 })
    }
}

@Suite("Robustness sanity checks")
struct RobustnessSanityCheckTests {
    static func point(_ attack: AttackKind, _ eps: Float, _ flags: [Bool], clean: Int) -> RobustAccuracyPoint {
        RobustAccuracyPoint(attack: attack, epsilon: eps, samples: flags.count, cleanCorrect: clean,
                            robustCorrect: flags.filter { $0 }.count, cleanAccuracy: Double(clean) / Double(flags.count),
                            robustAccuracy: Double(flags.filter { $0 }.count) / Double(flags.count), robust: SampleFlags(flags))
    }

    @Test("a robust accuracy that rises significantly with ε fails; a rise within noise passes")
    func monotone() {
        let small = [Bool](repeating: false, count: 80) + [Bool](repeating: true, count: 20)
        let large = [Bool](repeating: true, count: 80) + [Bool](repeating: false, count: 20)
        let bad = RobustAccuracyReport(dataset: "d", attack: .pgdL2, options: .init(), seed: 0, samples: 100, cleanCorrect: 100,
                                       cleanAccuracy: 1, points: [Self.point(.pgdL2, 0.1, small, clean: 100), Self.point(.pgdL2, 0.2, large, clean: 100)])
        let checks = RobustnessSanityCheck.checks(bad)
        #expect(checks.count == 2 && checks[0].passed && !checks[1].passed, "\(checks.map(\.line))")
        var noisy = small
        noisy[0] = true   // one sample more at the larger ε: noise
        let fine = RobustAccuracyReport(dataset: "d", attack: .pgdL2, options: .init(), seed: 0, samples: 100, cleanCorrect: 100,
                                        cleanAccuracy: 1, points: [Self.point(.pgdL2, 0.1, small, clean: 100), Self.point(.pgdL2, 0.2, noisy, clean: 100)])
        #expect(RobustnessSanityCheck.checks(fine).allSatisfy { $0.passed })
    }

    @Test("stronger ≤ weaker, black-box vs white-box, certified ≤ empirical, ≈ 0 at a large ε")
    func comparisons() {
        let robust40 = [Bool](repeating: true, count: 40) + [Bool](repeating: false, count: 60)
        let robust10 = [Bool](repeating: true, count: 10) + [Bool](repeating: false, count: 90)
        #expect(RobustnessSanityCheck.atMost(Self.point(.apgdCEL2, 0.1, robust10, clean: 90), Self.point(.pgdL2, 0.1, robust40, clean: 90)).passed)
        #expect(!RobustnessSanityCheck.atMost(Self.point(.apgdCEL2, 0.1, robust40, clean: 90), Self.point(.pgdL2, 0.1, robust10, clean: 90)).passed)
        let masked = RobustnessSanityCheck.noGradientMasking(blackBox: Self.point(.squareL2, 0.1, robust10, clean: 90),
                                                             whiteBox: Self.point(.apgdCEL2, 0.1, robust40, clean: 90))
        #expect(!masked.passed && masked.detail.contains("gradient masking"))
        let certified = CertifiedAccuracyReport.Point(epsilon: 0.1, certified: 40, accuracy: 0.4, flags: SampleFlags(robust40))
        #expect(!RobustnessSanityCheck.certifiedBelowEmpirical(certified: certified, empirical: Self.point(.pgdL2, 0.1, robust10, clean: 90),
                                                               certificate: "best").passed)
        #expect(RobustnessSanityCheck.vanishes(Self.point(.pgdL2, 6, [Bool](repeating: false, count: 100), clean: 90)).passed)
        #expect(!RobustnessSanityCheck.vanishes(Self.point(.pgdL2, 6, robust10, clean: 90)).passed)
    }
}
