import Foundation

/// The statistical tests behind the claims (paired bootstrap, McNemar, ratio and bound rules).
extension ClaimChecker {
    // MARK: Comparisons

    /// Paired bootstrap of mean(a) − mean(b) over per-sample values pooled over seeds.
    func pairedBootstrap(_ a: [[Double]], _ b: [[Double]], _ nameA: String, _ nameB: String,
                         rule: ClaimRule = .directional(.less)) -> ClaimPart {
        let c = Statistics.pairedBootstrap(a.flatMap { $0 }, b.flatMap { $0 }, level: level,
                                           resamples: settings.resamples, seed: settings.seed)
        let bad = (a + b).joined().filter { !$0.isFinite }.count
        var text = "\(Self.operand(nameA)) − \(Self.operand(nameB)) = \(Self.signed(c.difference)) "
            + "\(Self.interval(c.interval)), \(bootstrapP(c)), n = \(c.count)"
        if bad > 0 { text += " (undefined: \(bad) non-finite per-sample values)" }
        let perSeed = zip(a, b).map { x, y in rule.holds(Self.mean(x) - Self.mean(y), null: 0) }
        return ClaimPart(verdict: rule.verdict(c, alpha: settings.alpha), text: text, perSeed: perSeed)
    }

    /// McNemar's exact test on per-sample outcomes pooled over seeds: accuracy(a) − accuracy(b).
    func mcNemar(_ a: [[Bool]], _ b: [[Bool]], _ nameA: String, _ nameB: String, rule: ClaimRule) -> ClaimPart {
        let c = Statistics.mcNemar(a.flatMap { $0 }, b.flatMap { $0 }, level: level)
        var text = "\(Self.operand(nameA)) − \(Self.operand(nameB)) = \(Self.points(c.difference)) points "
            + "\(Self.interval(c.interval, Self.pointsPlain))"
        switch rule {
        case .directional: text += ", \(c.pValueText)"
        case .bounded(let margin, let d):
            text += ", bound \(d == .less ? "≤" : "≥") \(Self.pointsPlain(margin)) points"
        }
        text += ", n = \(c.count)"
        let perSeed = zip(a, b).map { x, y -> Bool? in
            guard !x.isEmpty, x.count == y.count else { return nil }
            let d = Double(x.filter { $0 }.count - y.filter { $0 }.count) / Double(x.count)
            return rule.holds(d, null: 0)
        }
        return ClaimPart(verdict: rule.verdict(c, alpha: settings.alpha), text: text, perSeed: perSeed)
    }

    /// Bootstrap of mean(a)/mean(b), per-epoch values pooled over seeds, resampled independently.
    func ratio(_ a: [[Double]], _ b: [[Double]], _ nameA: String, _ nameB: String, rule: ClaimRule) -> ClaimPart {
        let c = Statistics.bootstrapRatio(a.flatMap { $0 }, b.flatMap { $0 }, nullRatio: 1, level: level,
                                          resamples: settings.resamples, seed: settings.seed)
        var text = "\(Self.operand(nameA)) / \(Self.operand(nameB)) = \(Self.plain(c.difference))× "
            + "\(Self.interval(c.interval))"
        switch rule {
        case .directional: text += ", \(bootstrapP(c)) (vs 1×)"
        case .bounded(let margin, let d): text += ", bound \(d == .less ? "≤" : "≥") \(Self.plain(margin))×"
        }
        text += ", n = \(a.joined().count) + \(b.joined().count) epochs"
        let perSeed = zip(a, b).map { x, y in rule.holds(Self.mean(x) / Self.mean(y), null: 1) }
        return ClaimPart(verdict: rule.verdict(c, alpha: settings.alpha), text: text, perSeed: perSeed)
    }

    /// Relative train–test discrepancy |mean_test − mean_train| / |mean_test| of one quantity.
    static func discrepancy(test: [Double], train: [Double], _ ti: [Int], _ ri: [Int]) -> Double {
        var st = 0.0, sr = 0.0
        for i in ti { st += test[i] }
        for i in ri { sr += train[i] }
        let mt = st / Double(ti.count), mr = sr / Double(ri.count)
        return TrainTestDiscrepancy.discrepancy(train: mr, test: mt)
    }

    /// Table 3 for one method: d_C − d_other, averaged over seeds, bootstrapped with each seed's
    /// test and training samples resampled independently (the same test indices for C and the
    /// other quantity: they are measured on the same samples).
    func discrepancyPart(_ m: MethodRuns, test: [SampleQuantity: [[Double]]], train: [SampleQuantity: [[Double]]],
                         other: SampleQuantity) -> ClaimPart {
        let k = test[.curvature]!.count
        let tc = test[.curvature]!, rc = train[.curvature]!, to = test[other]!, ro = train[other]!
        func perSeedDifference(_ s: Int, _ ti: [Int], _ ri: [Int]) -> Double {
            Self.discrepancy(test: tc[s], train: rc[s], ti, ri) - Self.discrepancy(test: to[s], train: ro[s], ti, ri)
        }
        let counts = (0..<k).flatMap { [tc[$0].count, rc[$0].count] }
        let c = Statistics.bootstrap(counts: counts, level: level, resamples: settings.resamples, seed: settings.seed,
                                     test: "bootstrap") { idx in
            Self.mean((0..<k).map { perSeedDifference($0, idx[2 * $0], idx[2 * $0 + 1]) })
        }
        let bad = (tc + rc + to + ro).joined().filter { !$0.isFinite }.count
        var text = "\(PaperClaims.display(m.name)): d_C − d_\(other.symbol) = \(Self.signed(c.difference)) "
            + "\(Self.interval(c.interval)), \(bootstrapP(c))"
        if bad > 0 { text += " (undefined: \(bad) non-finite per-sample values)" }
        let perSeed = (0..<k).map { s in
            ClaimRule.directional(.less).holds(
                perSeedDifference(s, Array(0..<tc[s].count), Array(0..<rc[s].count)), null: 0)
        }
        return ClaimPart(verdict: Verdict.directional(c, claimed: .less, alpha: settings.alpha), text: text, perSeed: perSeed)
    }

    /// The verdict, test text and seed agreement of a claim made of `parts`.
    static func outcome(_ measured: String, _ testName: String, _ parts: [ClaimPart], directional: Bool = true) -> ClaimOutcome {
        ClaimOutcome(measured: measured, verdict: Verdict.all(parts.map(\.verdict)),
                     test: testName + ", " + parts.map(\.text).joined(separator: "; "),
                     seedAgreement: agreement(parts, directional: directional))
    }
}
