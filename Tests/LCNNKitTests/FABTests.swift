import Datasets
import Foundation
@testable import LCNNKit
import NN
import TensorCore
import Testing

/// FAB-T: its projection onto a hyperplane inside the box against an independent bisection, the
/// exact minimal perturbation of linear classifiers, and its place in AutoAttack's sequence.
@Suite("FAB-T")
struct FABTests {
    /// Σⱼ wⱼ·clip(μ·aⱼ·s·sign(wⱼ)…) solved by bisection on μ, written without FAB's sort: the
    /// reference the exact sweep must match.
    static func bisectionStep(_ norm: PGD.Norm, w: [Float], c: Double, p: [Float], range: ClosedRange<Float>) -> [Float] {
        func step(_ mu: Double) -> [Float] {
            zip(w, p).map { wj, pj in
                let direction: Double = norm == .l2 ? Double(wj) : Double(wj > 0 ? 1 : (wj < 0 ? -1 : 0))
                let raw = (c > 0 ? 1 : -1) * mu * direction
                return Float(Swift.min(Swift.max(raw, Double(range.lowerBound - pj)), Double(range.upperBound - pj)))
            }
        }
        func reach(_ mu: Double) -> Double { Swift.abs(zip(w, step(mu)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }) }
        var lo = 0.0, hi = 1e6
        guard reach(hi) >= Swift.abs(c) else { return step(hi) }
        for _ in 0..<200 { let mid = (lo + hi) / 2; if reach(mid) < Swift.abs(c) { lo = mid } else { hi = mid } }
        return step(hi)
    }

    @Test("the projection onto wᵀδ = c inside the box matches bisection, lands on the plane and stays in the box", arguments: [PGD.Norm.l2, .linf])
    func projection(_ norm: PGD.Norm) {
        var g = SeededGenerator(seed: 3)
        for trial in 0..<40 {
            let d = 1 + trial % 17
            let w = Tensor.normal([d], generator: &g).scalars.enumerated().map { $0.offset % 5 == 4 ? 0 : $0.element }
            // Points on the faces of the box too (no room in one direction).
            let p = Tensor.uniform([d], generator: &g).scalars.enumerated().map { $0.offset % 7 == 3 ? 1 : ($0.offset % 7 == 5 ? 0 : $0.element) }
            // The largest |wᵀδ| the box allows in the direction of c's sign s.
            let s: Float = trial % 2 == 0 ? 1 : -1
            let reachable = zip(w, p).reduce(0.0) { $0 + Double(Swift.abs($1.0)) * Double(s * $1.0 > 0 ? 1 - $1.1 : $1.1) }
            // c inside what the box allows (most trials) and beyond it (every fifth).
            let c = Double(s) * (trial % 5 == 0 ? 3 * reachable + 1 : 0.6 * reachable)
            let step = FAB.minimalStep(norm, normal: w[...], offset: c, at: p[...], range: 0...1)
            let reference = Self.bisectionStep(norm, w: w, c: c, p: p, range: 0...1)
            for j in 0..<d {
                #expect(Swift.abs(step[j] - reference[j]) < 1e-4, "trial \(trial), coordinate \(j): \(step[j]) vs \(reference[j])")
                #expect(p[j] + step[j] >= -1e-6 && p[j] + step[j] <= 1 + 1e-6)
            }
            let onPlane = zip(w, step).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            if trial % 5 != 0 {
                #expect(Swift.abs(onPlane - c) < 1e-4 * Swift.max(1, Swift.abs(c)), "trial \(trial): wᵀδ = \(onPlane), c = \(c)")
            }
        }
    }

    @Test("without a box the projection is the textbook one: c·w/‖w‖₂² (ℓ2) and c·sign(w)/‖w‖₁ (ℓ∞)")
    func unboxedProjection() {
        let w: [Float] = [3, -4, 0, 1]
        let l2 = FAB.minimalStep(.l2, normal: w[...], offset: 2.6, at: [0, 0, 0, 0][...], range: -Float.infinity...Float.infinity)
        for (s, wj) in zip(l2, w) { #expect(Swift.abs(s - 2.6 * wj / 26) < 1e-6) }
        let linf = FAB.minimalStep(.linf, normal: w[...], offset: -1.6, at: [0, 0, 0, 0][...], range: -Float.infinity...Float.infinity)
        for (s, wj) in zip(linf, w) { #expect(Swift.abs(s - -1.6 * (wj > 0 ? 1 : (wj < 0 ? -1 : 0)) / 8) < 1e-6) }
    }

    @Test("non-finite normals or offsets give a finite step inside the box")
    func nonFinite() {
        let p: [Float] = [0.2, 0.5, 0.9]
        let nanNormal = FAB.minimalStep(.l2, normal: [Float.nan, 1, -Float.infinity][...], offset: 0.1, at: p[...], range: 0...1)
        #expect(nanNormal[0] == 0 && nanNormal[2] == 0 && Swift.abs(nanNormal[1] - 0.1) < 1e-6)
        for offset in [Double.nan, .infinity] {
            #expect(FAB.minimalStep(.linf, normal: [1, 2, 3][...], offset: offset, at: p[...], range: 0...1) == [0, 0, 0])
        }
    }

    /// 5 classes on 8 inputs: logits Wx + b.
    static let weights: [Float] = (0..<40).map { Float(($0 * 37 + 11) % 23) / 11 - 1 }
    static let bias: [Float] = [0.2, -0.1, 0.05, 0, -0.3]
    static var linear: Classifier { AttackFixtures.affine(weights, classes: 5, bias: bias) }

    /// The exact minimal ℓp perturbation of the affine classifier: minₖ (z_y − z_k)/‖w_y − w_k‖_q.
    static func minimal(_ x: [Float], norm: PGD.Norm) -> (label: Int, radius: Float) {
        var z = [Float](repeating: 0, count: 5)
        for k in 0..<5 {
            z[k] = bias[k]
            for j in 0..<8 { z[k] += weights[k * 8 + j] * x[j] }
        }
        let y = z.indices.max { z[$0] < z[$1] }!
        var radius = Float.infinity
        for k in 0..<5 where k != y {
            var dual: Float = 0
            for j in 0..<8 {
                let diff = weights[y * 8 + j] - weights[k * 8 + j]
                dual = norm == .l2 ? dual + diff * diff : dual + Swift.abs(diff)
            }
            if norm == .l2 { dual = dual.squareRoot() }
            radius = Swift.min(radius, (z[y] - z[k]) / dual)
        }
        return (y, radius)
    }

    @Test("FAB-T finds the minimal perturbation of a 5-class linear classifier within 2 %, and nothing inside it", arguments: [PGD.Norm.l2, .linf])
    func linearMinimalPerturbation(_ norm: PGD.Norm) {
        var g = SeededGenerator(seed: 21)
        let x = Tensor.uniform([8, 8], low: 0.3, high: 0.7, generator: &g)
        for i in 0..<8 {
            let row = Array(x.scalars[(i * 8)..<(i * 8 + 8)])
            let (label, radius) = Self.minimal(row, norm: norm)
            for (factor, breaks) in [(Float(1.02), true), (Float(0.98), false)] {
                var gi = SeededGenerator(seed: UInt64(i))
                let r = FAB(norm: norm, epsilon: factor * radius, iterations: 20, inputRange: nil)
                    .targetedAttack(Self.linear, x.samples([i]), labels: [label], generator: &gi)
                #expect(r.robust == [!breaks], "sample \(i), ε = \(factor)·r* (r* = \(radius)): robust \(r.robust)")
                if breaks {
                    let delta = withoutGrad { r.adversarial - x.samples([i]) }.scalars
                    let size = FAB.length(delta[...], norm)
                    #expect(size <= factor * radius * (1 + 1e-5) && size >= radius * (1 - 1e-4), "sample \(i): ‖δ‖ = \(size), r* = \(radius)")
                    #expect(withoutGrad { Self.linear(r.adversarial) }.argmax(axis: -1) != [label])
                }
            }
        }
    }

    @Test("FAB-T runs one walk per target on the samples still robust, and later restarts start inside the ball")
    func targetsAndRestarts() {
        var g = SeededGenerator(seed: 2)
        let (_, f, x, labels) = AttackFixtures.tenClasses(modelSeed: 3, samples: 12, generator: &g)
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let fab = FAB(norm: .l2, epsilon: 0.05, iterations: 6)
        let all = fab.targetedAttack(f, x, labels: labels, targetClasses: 9, generator: &g1)
        let first = fab.targetedAttack(f, x, labels: labels, targetClasses: 1, generator: &g2)
        #expect(all.gradientEvaluations == 9 * 6 || all.robust.allSatisfy { !$0 })
        #expect(first.gradientEvaluations == 6)
        #expect(zip(all.robust, first.robust).allSatisfy { !$0 || $1 }, "more targets broke fewer samples")
        var restarted = FAB(norm: .linf, epsilon: 0.03, iterations: 4)
        restarted.restarts = 3
        var g3 = SeededGenerator(seed: 5)
        let r = restarted.targetedAttack(f, x, labels: labels, targetClasses: 2, generator: &g3)
        #expect(AttackFixtures.maxAbs(withoutGrad { r.adversarial - x }) <= 0.03 + 1e-6)
        #expect(r.adversarial.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test("AutoAttack runs FAB-T between APGD-T and Square, and robust accuracy records each stage")
    func inTheSequence() {
        var g = SeededGenerator(seed: 6)
        let (model, f, x, labels) = AttackFixtures.tenClasses(modelSeed: 7, samples: 10, generator: &g)
        let (result, stages) = AutoAttack(norm: .l2, epsilon: 0.2, iterations: 5, squareQueries: 20)
            .attack(f, x, labels: labels, generator: &g)
        #expect(stages.map(\.attack) == ReproductionAudit.autoAttackSequence)
        #expect(zip(stages, stages.dropFirst()).allSatisfy { $0.robust >= $1.robust })
        #expect(result.robust.filter { $0 }.count == stages.last!.robust)

        var options = AttackOptions()
        options.apgdIterations = 5
        options.squareQueries = 20
        let data = Datasets.Dataset(name: "noise", images: x, labels: labels, classes: 10)
        let whole = robustAccuracy(model: model, dataset: data, attack: .autoattackL2, epsilons: [0.2], options: options, batchSize: 4)
        let point = whole.points[0]
        let recorded = try! #require(point.stages)
        #expect(recorded.map(\.attack) == ReproductionAudit.autoAttackSequence)
        #expect(recorded.last!.robust == point.robustCorrect)
        // Parts merge stage by stage.
        let halves = [data.prefix(4), data.subset(Array(4..<10))]
        let merged = RobustAccuracyReport.merged([
            robustAccuracy(model: model, dataset: halves[0], attack: .autoattackL2, epsilons: [0.2], options: options, batchSize: 4),
            robustAccuracy(model: model, dataset: halves[1], attack: .autoattackL2, epsilons: [0.2], options: options, batchSize: 4, firstBatch: 1),
        ])
        #expect(merged.points[0].stages == recorded)
    }

    @Test("an audit record written before FAB-T decodes as the three-attack sequence, so it is measured again")
    func oldAuditRecord() throws {
        let old = #"{"autoAttackSamples":250,"apgdIterations":100,"squareQueries":5000,"certify":true}"#
        let audit = try JSONDecoder().decode(ReproductionAudit.self, from: Data(old.utf8))
        #expect(audit.sequence == ["apgd-ce", "apgd-t", "square"])
        #expect(audit != ReproductionAudit.standard)
        #expect(ReproductionAudit.standard.sequence.contains("fab-t"))
        let roundTrip = try JSONDecoder().decode(ReproductionAudit.self, from: JSONEncoder().encode(ReproductionAudit.standard))
        #expect(roundTrip == .standard)
    }
}
