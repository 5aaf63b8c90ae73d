import Foundation

/// Tables in the shape of the paper's Tables 1–3, as Markdown and CSV, from evaluation results.
public struct EvaluationReport {
    public let results: [EvaluationResult]

    public init(_ results: [EvaluationResult]) { self.results = results }

    static func f(_ x: Double?, _ digits: Int = 4) -> String {
        guard let x, x.isFinite else { return "—" }
        return String(format: "%.\(digits)g", x)
    }
    static func pm(_ m: MeanStd?) -> String { m.map { "\(f($0.mean)) ± \(f($0.std, 2))" } ?? "—" }

    /// The training-cost ratio of a result (G7) to the Standard run among the results, if any.
    func costRatio(_ r: EvaluationResult) -> Double? {
        guard let own = r.trainSecondsPerEpoch,
              let standard = results.first(where: { $0.label.hasPrefix("standard") })?.trainSecondsPerEpoch,
              standard > 0 else { return nil }
        return own / standard
    }

    /// Table 1: accuracy (95 % Wilson interval), G1, G2, G3 (mean ± std, and the mean's 95 %
    /// bootstrap interval), the data-free bound and the training cost.
    public var table1: String {
        var rows = ["| model | accuracy [95 %] | ‖∇ₓℓ‖₂ | ‖∇²ₓℓ‖₂ | C(x) | converged | log bound | cost ×Standard |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results {
            let pooled = PooledResults(group: r.label, results: [r])
            func cell(_ m: MeanStd?, _ q: KeyPath<CurvatureSummary.PerSampleCurvature, [Float]>) -> String {
                Self.pm(m) + (pooled.mean(q).map { $0.interval.isUndefined ? "" : " " + $0.interval.formatted { Self.f($0, 3) } } ?? "")
            }
            rows.append("| \(r.label) | \(PooledResults.percentText(pooled.accuracy)) | \(cell(r.test?.gradientNorm, \.gradientNorm)) | "
                        + "\(cell(r.test?.spectralNorm, \.spectralNorm)) | \(cell(r.test?.curvature, \.curvature)) | "
                        + "\(r.test.map { "\($0.convergedCount)/\($0.count)" } ?? "—") | \(Self.f(r.logCurvatureBound)) | "
                        + "\(Self.f(costRatio(r), 3)) |")
        }
        return rows.joined(separator: "\n")
    }

    /// Table 2: robust accuracy under ℓ2 PGD (and FGSM ℓ∞) per ε.
    public var table2: String {
        let epsilons = results.first?.pgd?.points.map(\.epsilon) ?? results.first?.fgsm?.points.map(\.epsilon) ?? []
        let header = "| model | attack | clean | " + epsilons.map { "ε = \($0)" }.joined(separator: " | ") + " |"
        var rows = [header, "|---|---|---:|" + String(repeating: "---:|", count: epsilons.count)]
        for r in results {
            for report in [r.pgd, r.fgsm].compactMap({ $0 }) {
                let clean = Statistics.proportion(successes: report.cleanCorrect, trials: report.samples)
                rows.append("| \(r.label) | \(report.attack.rawValue) | \(PooledResults.percentText(clean)) | "
                            + report.points.map {
                                PooledResults.percentText(Statistics.proportion(successes: $0.robustCorrect, trials: $0.samples))
                            }.joined(separator: " | ") + " |")
            }
        }
        return rows.joined(separator: "\n")
    }

    /// The sanity checks of every robust-accuracy table (``RobustnessSanityCheck``) and, with
    /// certificates, that no certified sample was broken by ℓ2 PGD.
    public var sanityChecks: [(model: String, check: RobustnessSanityCheck)] {
        var out: [(String, RobustnessSanityCheck)] = []
        for r in results {
            for report in [r.pgd, r.fgsm].compactMap({ $0 }) {
                out += RobustnessSanityCheck.checks(report).map { (r.label, $0) }
            }
            if let aa = r.autoAttack { out += autoAttackChecks(aa, r).map { (r.label, $0) } }
            guard let c = r.certified, let pgd = r.pgd else { continue }
            for (point, empirical) in zip(c.bestPoints, pgd.points) where point.epsilon == empirical.epsilon {
                out.append((r.label, .certifiedBelowEmpirical(certified: point, empirical: empirical, certificate: "best")))
            }
        }
        return out
    }

    /// AutoAttack's checks on the samples it ran on (a prefix of PGD's): robust ≤ clean,
    /// AutoAttack ≤ PGD, and certified ≤ AutoAttack.
    func autoAttackChecks(_ aa: RobustAccuracyReport, _ r: EvaluationResult) -> [RobustnessSanityCheck] {
        var checks = RobustnessSanityCheck.checks(aa).filter { !$0.name.hasSuffix("non-increasing in ε") || aa.points.count > 1 }
        for point in aa.points {
            let same = { (e: Float) in Swift.abs(e - point.epsilon) < 1e-6 }
            if let pgd = r.pgd?.points.first(where: { same($0.epsilon) })?.prefix(point.samples, cleanCorrect: aa.cleanCorrect) {
                checks.append(.atMost(point, pgd))
            }
            if let certified = r.certified?.bestPoints.first(where: { same($0.epsilon) })?.prefix(point.samples) {
                checks.append(.certifiedBelowEmpirical(certified: certified, empirical: point, certificate: "best"))
            }
        }
        return checks
    }

    /// Certified ℓ2 accuracy per ε beside ℓ2-PGD robust accuracy, with the guaranteed bounds.
    public var certifiedTable: String {
        let epsilons = results.compactMap { $0.certified?.bestPoints.map(\.epsilon) }.first ?? []
        var rows = ["| model | certificate | L | K | median radius | " + epsilons.map { "ε = \($0)" }.joined(separator: " | ") + " |",
                    "|---|---|---:|---:|---:|" + String(repeating: "---:|", count: epsilons.count)]
        for r in results {
            guard let c = r.certified else { continue }
            func row(_ name: String, _ k: Double?, _ median: Double?, _ points: [CertifiedAccuracyReport.Point]) {
                rows.append("| \(r.label) | \(name) | \(Self.f(c.lipschitz, 3)) | \(k.map { Self.f($0, 3) } ?? "—") | \(Self.f(median, 3)) | "
                            + points.map { PooledResults.percentText(Statistics.proportion(successes: $0.certified, trials: c.samples)) }
                                .joined(separator: " | ") + " |")
            }
            row("Lipschitz margin", nil, c.medianLipschitzRadius, c.lipschitzPoints)
            if let points = c.curvaturePoints { row("curvature", c.curvature, c.medianCurvatureRadius, points) }
            row("best of both", c.curvature, nil, c.bestPoints)
            if let pgd = r.pgd {
                rows.append("| \(r.label) | empirical: \(pgd.attack.rawValue) | | | | "
                            + pgd.points.map { PooledResults.percentText(Statistics.proportion(successes: $0.robustCorrect, trials: $0.samples)) }
                                .joined(separator: " | ") + " |")
            }
        }
        return rows.joined(separator: "\n")
    }

    /// Table 3: train–test discrepancy |g(test) − g(train)|/g(test) of G1–G3.
    public var table3: String {
        var rows = ["| model | gradient norm | Hessian norm | curvature |", "|---|---:|---:|---:|"]
        for r in results {
            let d = r.discrepancy
            rows.append("| \(r.label) | \(Self.f(d?.gradientNorm, 3)) | \(Self.f(d?.spectralNorm, 3)) | \(Self.f(d?.curvature, 3)) |")
        }
        return rows.joined(separator: "\n")
    }

    /// The tables with headings; Tables 2 and 3 only when attacks or the discrepancy were measured.
    public var markdown: String {
        var text = "## Table 1 — accuracy and curvature (test set, per sample, mean ± std [95 % bootstrap interval of the mean])\n\n\(table1)\n"
        if results.contains(where: { $0.pgd != nil || $0.fgsm != nil }) {
            text += "\n## Table 2 — robust accuracy [95 % Wilson interval]\n\n\(table2)\n"
        }
        if results.contains(where: { $0.certified != nil }) {
            text += "\n## Certified ℓ2 robustness [95 % Wilson interval]\n\n"
                + "L and K are guaranteed bounds on the Lipschitz constant and the second derivative of the logit map; "
                + "a sample is certified at ε when its radius — m/(√2·L) from the margin m (Tsuzuku et al. 2018), or the root "
                + "of the quadratic lower bound of each logit difference (Singla & Feizi 2020) — is at least ε.\n\n\(certifiedTable)\n"
        }
        if results.contains(where: { $0.discrepancy != nil }) {
            text += "\n## Table 3 — train–test discrepancy\n\n\(table3)\n"
        }
        let checks = sanityChecks
        if !checks.isEmpty {
            let failed = checks.filter { !$0.check.passed }.count
            text += "\n## Sanity checks of the robustness evaluation" + (failed > 0 ? " — \(failed) FAILED" : ": all passed") + "\n\n"
                + checks.map { "- \($0.model): \($0.check.line)" }.joined(separator: "\n") + "\n"
        }
        return text
    }

    /// One CSV row per model with every scalar.
    public var csv: String {
        var lines = ["label,checkpoint,dataset,test_accuracy,gradient_norm,gradient_norm_std,hessian_norm,hessian_norm_std,"
                     + "curvature,curvature_std,log_bound,train_seconds_per_epoch,discrepancy_gradient,discrepancy_hessian,"
                     + "discrepancy_curvature," + (results.first?.pgd?.points.map { "pgd_l2_\($0.epsilon)" } ?? []).joined(separator: ",")]
        for r in results {
            var fields: [String] = [r.label, r.checkpoint, r.dataset, "\(r.testAccuracy)"]
            for m in [r.test?.gradientNorm, r.test?.spectralNorm, r.test?.curvature] {
                fields += [m.map { "\($0.mean)" } ?? "", m.map { "\($0.std)" } ?? ""]
            }
            fields += ["\(r.logCurvatureBound)", r.trainSecondsPerEpoch.map { "\($0)" } ?? ""]
            fields += [r.discrepancy?.gradientNorm, r.discrepancy?.spectralNorm, r.discrepancy?.curvature].map { $0.map { "\($0)" } ?? "" }
            fields += r.pgd?.points.map { "\($0.robustAccuracy)" } ?? []
            lines.append(fields.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
