import Foundation

/// Table 2's audit columns (``ReproductionAudit``): at the claim ε, ℓ2 PGD and AutoAttack on the
/// same samples with McNemar's test of their difference, and certified ℓ2 accuracy; then the
/// sanity checks of every robustness figure in the report.
extension ReproductionReport {
    /// The audit table, or "" when the plan has no audit.
    var auditSection: String {
        guard let audit = outcome.plan.audit else { return "" }
        let epsilon = outcome.plan.evaluation.claimEpsilon
        let same = { (e: Float) in Swift.abs(e - epsilon) < 1e-6 }
        var s = "### Table 2 at ε = \(epsilon): AutoAttack and certified ℓ2 accuracy\n\n"
        let budget = audit.isStandardBudget ? "AutoAttack's standard budget"
            : "a **reduced** budget (AutoAttack's standard one is 100 iterations and 5,000 queries)"
        s += "AutoAttack = \(Self.sequenceText(audit.sequence)), each on the samples the earlier ones left robust, "
            + "with \(audit.apgdIterations) APGD/FAB iterations and \(audit.squareQueries) Square queries — \(budget) — on the first \(audit.autoAttackSamples) measured samples; "
            + "PGD is the 10-step attack of the table above on those same samples, so \"AA − PGD\" is a paired difference "
            + "(McNemar's exact test; negative: AutoAttack finds more adversarial examples). Certified accuracy is over all "
            + "measured samples: a sample counts when it is classified correctly and its certified radius — m/(√2·L) from the "
            + "logit margin m and the guaranteed Lipschitz bound L (Tsuzuku et al. 2018), or the root of the quadratic lower "
            + "bound from the guaranteed curvature bound K (Singla & Feizi 2020) — is at least ε. 95 % Wilson intervals.\n\n"
        s += "| run | PGD (same samples) | AutoAttack | AA − PGD [95 %], p | certified: Lipschitz | certified: curvature | certified: best | L |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for p in pooled {
            var aaFlags: [Bool] = [], pgdFlags: [Bool] = []
            var aaComplete = true
            for r in p.results {
                guard let aa = r.autoAttack, let point = aa.points.first(where: { same($0.epsilon) }), let flags = point.robust?.values,
                      let pgd = r.pgd?.points.first(where: { same($0.epsilon) })?.prefix(point.samples, cleanCorrect: aa.cleanCorrect),
                      let pgdValues = pgd.robust?.values else { aaComplete = false; break }
                aaFlags += flags
                pgdFlags += pgdValues
            }
            var aaText = "—", pgdText = "—", differenceText = "—"
            if aaComplete, !aaFlags.isEmpty {
                aaText = PooledResults.percentText(Statistics.proportion(successes: aaFlags.filter { $0 }.count, trials: aaFlags.count))
                pgdText = PooledResults.percentText(Statistics.proportion(successes: pgdFlags.filter { $0 }.count, trials: pgdFlags.count))
                let test = Statistics.mcNemar(aaFlags, pgdFlags)
                differenceText = String(format: "%+.1f ", 100 * test.difference)
                    + test.interval.formatted { String(format: "%+.1f", 100 * $0) } + ", " + test.pValueText
            }
            func certified(_ points: (CertifiedAccuracyReport) -> [CertifiedAccuracyReport.Point]?) -> String {
                let found = p.results.compactMap { r in r.certified.flatMap { c in points(c)?.first { same($0.epsilon) }.map { ($0, c.samples) } } }
                guard found.count == p.results.count, !found.isEmpty else { return "—" }
                return PooledResults.percentText(Statistics.proportion(successes: found.reduce(0) { $0 + $1.0.certified },
                                                                       trials: found.reduce(0) { $0 + $1.1 }))
            }
            let lipschitz = p.results.compactMap { $0.certified?.lipschitz }
            s += "| \(p.group) | \(pgdText) | \(aaText) | \(differenceText) | \(certified { $0.lipschitzPoints }) | "
                + "\(certified { $0.curvaturePoints }) | \(certified { $0.bestPoints }) | "
                + "\(lipschitz.isEmpty ? "—" : Self.f(lipschitz.reduce(0, +) / Double(lipschitz.count), 3)) |\n"
        }
        s += stagesTable(epsilon: epsilon)
        s += "\nL is the guaranteed Lipschitz constant of the logit map (mean over seeds); the certified radius of a sample is "
            + "proportional to 1/L, so these figures are far below the empirical ones unless L is small. "
            + "Certified by the curvature bound needs a finite K (\"—\": none).\n\n"
        return s
    }

    /// The sequence as the report names it ("APGD-CE → APGD-T (9 targets) → …").
    static func sequenceText(_ sequence: [String]) -> String {
        let names = ["apgd-ce": "APGD-CE", "apgd-t": "APGD-T (9 targets)", "fab-t": "FAB-T (9 targets)", "square": "Square"]
        var text = sequence.map { names[$0] ?? $0 }.joined(separator: " → ")
        if !sequence.contains("fab-t") { text += " (FAB-T of the reference sequence not run)" }
        return text
    }

    /// Robust accuracy after each attack of the AutoAttack sequence (pooled over seeds), so each
    /// attack's contribution shows; "" when no run recorded its stages.
    func stagesTable(epsilon: Float) -> String {
        var rows: [(group: String, clean: Int, samples: Int, stages: [AutoAttack.Stage])] = []
        for p in pooled {
            let points = p.results.compactMap { $0.autoAttack?.points.first { Swift.abs($0.epsilon - epsilon) < 1e-6 } }
            guard points.count == p.results.count, let first = points.first?.stages,
                  let total = points.dropFirst().reduce(Optional(first), { AutoAttack.Stage.adding($0, $1.stages) }) else { continue }
            rows.append((p.group, points.reduce(0) { $0 + $1.cleanCorrect }, points.reduce(0) { $0 + $1.samples }, total))
        }
        guard let names = rows.first?.stages.map(\.attack) else { return "" }
        var s = "\nRobust accuracy (%) after each attack of the sequence, on the same samples (clean: before any):\n\n"
        s += "| run | clean | " + names.map { "after \($0)" }.joined(separator: " | ") + " |\n"
        s += "|---|---:|" + names.map { _ in "---:|" }.joined() + "\n"
        for row in rows where row.stages.map(\.attack) == names {
            let percent = { (k: Int) in String(format: "%.1f", 100 * Double(k) / Double(Swift.max(row.samples, 1))) }
            s += "| \(row.group) | \(percent(row.clean)) | " + row.stages.map { percent($0.robust) }.joined(separator: " | ") + " |\n"
        }
        return s
    }

    /// The sanity checks of every robust-accuracy figure (``EvaluationReport/sanityChecks``).
    var sanitySection: String {
        let checks = EvaluationReport(results).sanityChecks
        guard !checks.isEmpty else { return "" }
        let failed = checks.filter { !$0.check.passed }.count
        return "### Sanity checks of the robustness evaluation" + (failed > 0 ? " — \(failed) FAILED" : ": all passed") + "\n\n"
            + "RobustBench's rules: robust ≤ clean, non-increasing in ε, a stronger attack not weaker than PGD on the same "
            + "samples, no certified sample broken by an attack (McNemar at α = 0.05 where samples pair).\n\n"
            + checks.map { "- \($0.model): \($0.check.line)" }.joined(separator: "\n") + "\n\n"
    }
}
