import Datasets
import Foundation
import LCNNKit
import Testing

/// The reproduction's robustness audit: AutoAttack at the claim ε on a prefix of the measured
/// samples and certified accuracy on all of them, kept per run in `audit.json`, shown beside
/// Table 2 with the sanity checks.
@Suite("Reproduction audit")
struct ReproductionAuditTests {
    static func plan(autoAttackSamples: Int) throws -> ReproductionPlan {
        var plan = try ReproductionTests.tinyPlan(["standard", "lcnn"], epochs: 1)
        plan.audit = ReproductionAudit(autoAttackSamples: autoAttackSamples, apgdIterations: 10, squareQueries: 40)
        return plan
    }

    @Test("AutoAttack and certificates reach the results, Table 2 and the sanity checks; audit.json is reused, and redone alone when its settings change")
    func auditEndToEnd() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-audit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try Self.plan(autoAttackSamples: 12)
        let outcome = try Reproduction(plan: plan, outputPath: dir.path).run(figures: { _ in [] })
        for run in outcome.runs {
            let aa = try #require(run.result.autoAttack, "\(run.name) has no AutoAttack result")
            #expect(aa.attack == .autoattackL2 && aa.samples == 12)
            #expect(aa.points.map(\.epsilon) == [plan.evaluation.claimEpsilon])
            let certified = try #require(run.result.certified)
            #expect(certified.samples == 16 && certified.bestPoints.map(\.epsilon) == plan.evaluation.epsilons)
            // The attack and the certificates agree with PGD on the same samples.
            let pgd = try #require(run.result.pgd?.points.first { $0.epsilon == plan.evaluation.claimEpsilon }?
                .prefix(12, cleanCorrect: aa.cleanCorrect))
            #expect(aa.points[0].robustCorrect <= pgd.robustCorrect + 2)
            for (c, p) in zip(certified.bestPoints, run.result.pgd!.points) { #expect(c.certified <= p.robustCorrect) }
            #expect(FileManager.default.fileExists(atPath: run.directory.appendingPathComponent("audit.json").path))
        }
        let report = try ReproductionTests.read(dir.appendingPathComponent("report.md"))
        #expect(report.contains("### Table 2 at ε = \(plan.evaluation.claimEpsilon): AutoAttack and certified ℓ2 accuracy"))
        #expect(report.contains("a **reduced** budget"))
        #expect(report.contains("| run | PGD (same samples) | AutoAttack | AA − PGD [95 %], p |"))
        #expect(report.split(separator: "\n").contains { $0.hasPrefix("| lcnn | ") && $0.contains("%") })
        #expect(report.contains("| run | clean | after apgd-ce | after fab-t | after square |"), "two moons: 2 classes, no APGD-T")
        #expect(report.contains("APGD-CE → APGD-T (9 targets) → FAB-T (9 targets) → Square"))
        // Percentages with one decimal, the last stage equal to AutoAttack's column.
        let stageRow = try #require(report.split(separator: "\n").first { $0.hasPrefix("| lcnn | ") && $0.split(separator: "|").count == 5 })
        let cells = stageRow.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells.dropFirst().allSatisfy { $0.range(of: #"^\d+\.\d$"#, options: .regularExpression) != nil }, "\(stageRow)")
        #expect(report.contains("### Sanity checks of the robustness evaluation: all passed"))
        #expect(report.contains("autoattack-l2 ≤ pgd-l2 at ε = \(plan.evaluation.claimEpsilon)"))
        #expect(report.contains("certified (best) ≤ empirical (autoattack-l2)"))

        // Again: nothing is measured. With another AutoAttack size: only the audit is redone.
        let auditURL = dir.appendingPathComponent("runs/lcnn/audit.json")
        let written = try ReproductionTests.modificationDate(auditURL)
        try Reproduction(plan: plan, outputPath: dir.path).run(figures: { _ in [] })
        #expect(try ReproductionTests.modificationDate(auditURL) == written)
        let smaller = Reproduction(plan: try Self.plan(autoAttackSamples: 8), outputPath: dir.path)
        var reused: [String] = []
        smaller.onEvent = { if case .evaluationReused(let name) = $0 { reused.append(name) } }
        let again = try smaller.run(figures: { _ in [] })
        #expect(reused == ["standard", "lcnn"])
        #expect(again.runs.allSatisfy { $0.result.autoAttack?.samples == 8 })
    }

    @Test("a point restricted to a prefix keeps its flags' count; without flags or past the end there is none")
    func prefixes() {
        let flags = SampleFlags([true, false, true, true, false])
        let point = RobustAccuracyPoint(attack: .pgdL2, epsilon: 0.5, samples: 5, cleanCorrect: 4, robustCorrect: 3,
                                        cleanAccuracy: 0.8, robustAccuracy: 0.6, robust: flags)
        let head = point.prefix(3, cleanCorrect: 3)
        #expect(head?.samples == 3 && head?.robustCorrect == 2 && head?.cleanCorrect == 3)
        #expect(head?.robust?.values == [true, false, true])
        #expect(point.prefix(6, cleanCorrect: 4) == nil)
        var bare = point
        bare.robust = nil
        #expect(bare.prefix(2, cleanCorrect: 2) == nil)
        let certified = CertifiedAccuracyReport.Point(epsilon: 0.5, certified: 2, accuracy: 0.4, flags: SampleFlags([false, true, true, false, false]))
        #expect(certified.prefix(2)?.certified == 1)
    }

    @Test("the estimate counts the audit, and the small and default sizes carry one")
    func auditCost() throws {
        var plan = ReproductionPlan.standardSize()
        #expect(plan.audit == .standard && ReproductionPlan.small().audit == .small)
        let with = ReproductionCost.estimate(plan, trainCount: 60000, testCount: 10000, standardStep: 0.1)
        plan.audit = nil
        let without = ReproductionCost.estimate(plan, trainCount: 60000, testCount: 10000, standardStep: 0.1)
        #expect(with.measurement > without.measurement)
        #expect(with.training == without.training)
        // FAB-T is part of the estimate: an audit without it (as before it existed) costs less.
        plan.audit = .standard
        plan.audit?.sequence = ["apgd-ce", "apgd-t", "square"]
        let withoutFAB = ReproductionCost.estimate(plan, trainCount: 60000, testCount: 10000, standardStep: 0.1)
        #expect(withoutFAB.measurement < with.measurement && withoutFAB.measurement > without.measurement)
    }
}
