import Foundation

/// The 14 claims of the paper (§5, Tables 1–3) and of `000`, each as a test on the measurements.
extension ClaimChecker {
    // MARK: The claims

    func run() -> [ClaimCheck] {
        var checks: [ClaimCheck] = []
        func add(_ source: String, _ claim: String, _ body: () throws -> ClaimOutcome) {
            do {
                let o = try body()
                checks.append(ClaimCheck(source: source, claim: claim, measured: o.measured, verdict: o.verdict,
                                         test: o.test, seedAgreement: o.seedAgreement))
            } catch let missing as MissingMeasurement {
                checks.append(ClaimCheck(source: source, claim: claim, measured: missing.reason, verdict: .notMeasured, test: "—"))
            } catch {
                checks.append(ClaimCheck(source: source, claim: claim, measured: "\(error)", verdict: .notMeasured, test: "—"))
            }
        }
        let d = PaperClaims.display
        let l2 = Self.epsilon(settings.l2Epsilon), linf = Self.epsilon(settings.linfEpsilon)
        let pgdText = "ℓ2 PGD at ε = \(l2) (the calibrated analogue of the paper's 0.1)"
        let margin = settings.accuracyMargin
        let marginText = String(format: "%g", 100 * margin)

        /// A paired-bootstrap claim "a has a lower mean `q` than b".
        func lowerMean(_ a: String, _ b: String, _ q: SampleQuantity) throws -> ClaimOutcome {
            let ma = try run(a), mb = try run(b)
            let k = seedCount([ma, mb])
            let va = try perSample(ma, q, seeds: k), vb = try perSample(mb, q, seeds: k)
            try Self.checkPaired(va, vb, a, b)
            let part = pairedBootstrap(va, vb, a, b)
            return Self.outcome("\(d(a)) \(meanText(va)); \(d(b)) \(meanText(vb))", "paired bootstrap", [part])
        }

        add("§5.1, Table 1", "LCNN has a lower mean curvature C(x) than Standard (paper: 69.50 vs 270.89)") {
            try lowerMean("lcnn", "standard", .curvature)
        }
        add("§5.1, Table 1", "LCNN has a lower mean Hessian norm ‖∇²ₓℓ‖₂ than Standard (paper: 1143.62 vs 6061.96)") {
            try lowerMean("lcnn", "standard", .spectralNorm)
        }
        add("§5.1, §6", "LCNN + GradReg has the lowest mean curvature of all methods (paper: 25.30, next 63.79)") {
            // Among the paper's seven methods (the swish variant of `000` is not one of them), all measured.
            let all = try PaperClaims.paperMethodOrder.map { try run($0) }
            let k = seedCount(all)
            let values = try all.map { try perSample($0, .curvature, seeds: k) }
            let both = values[PaperClaims.paperMethodOrder.firstIndex(of: "lcnn+gradreg")!]
            var parts: [ClaimPart] = []
            var others: [(String, [[Double]])] = []
            for (name, v) in zip(PaperClaims.paperMethodOrder, values) where name != "lcnn+gradreg" {
                try Self.checkPaired(both, v, "lcnn+gradreg", name)
                parts.append(pairedBootstrap(both, v, "lcnn+gradreg", name))
                others.append((name, v))
            }
            let lowest = others.min { Self.mean($0.1.joined().map { $0 }) < Self.mean($1.1.joined().map { $0 }) }!
            return Self.outcome("LCNN + GradReg \(meanText(both)); lowest other: \(d(lowest.0)) \(meanText(lowest.1))",
                                "paired bootstrap vs each of the other 6", parts)
        }
        add("§5.1, Table 1", "GradReg has a lower mean gradient norm than Standard (paper: 8.86 vs 19.66)") {
            try lowerMean("gradreg", "standard", .gradientNorm)
        }
        add("§5.1, Table 1", "LCNN's accuracy is at most \(marginText) points below Standard's (paper: 77.30% vs 77.42%)") {
            let ms = try run("standard"), ml = try run("lcnn")
            let k = seedCount([ms, ml])
            let s = try testCorrect(ms, seeds: k), l = try testCorrect(ml, seeds: k)
            try Self.checkPaired(s, l, "standard", "lcnn")
            let part = mcNemar(s, l, "standard", "lcnn", rule: .bounded(margin: margin, .less))
            return Self.outcome("LCNN \(accuracyText(l)); Standard \(accuracyText(s))", "McNemar exact (Wald interval)",
                                [part], directional: false)
        }

        /// McNemar claims "a is more robust than each of `bs`" at the claim ε.
        func moreRobust(_ a: String, _ bs: [String]) throws -> ClaimOutcome {
            let ma = try run(a), mbs = try bs.map { try run($0) }
            let k = seedCount([ma] + mbs)
            let fa = try robust(ma, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
            var parts: [ClaimPart] = [], measured = ["\(d(a)) \(accuracyText(fa))"]
            for (b, mb) in zip(bs, mbs) {
                let fb = try robust(mb, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
                try Self.checkPaired(fa, fb, a, b)
                parts.append(mcNemar(fa, fb, a, b, rule: .directional(.greater)))
                measured.append("\(d(b)) \(accuracyText(fb))")
            }
            return Self.outcome("robust accuracy: " + measured.joined(separator: "; "), "McNemar exact", parts)
        }

        add("§5.3, Table 2", "LCNN is more robust to \(pgdText) than Standard (paper: 39.72% vs 37.55%)") {
            try moreRobust("lcnn", ["standard"])
        }
        add("§5.3, Table 2", "LCNN + GradReg is more robust to \(pgdText) than LCNN and than GradReg (paper: 63.36% vs 39.72% and 61.06%)") {
            try moreRobust("lcnn+gradreg", ["lcnn", "gradreg"])
        }
        add("§5.3, Table 2", "LCNN + GradReg is on par with adversarial training under \(pgdText), within \(marginText) points or better (paper: 63.36% vs 64.70%)") {
            let mb = try run("lcnn+gradreg"), ma = try run("adversarial")
            let k = seedCount([mb, ma])
            let fb = try robust(mb, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
            let fa = try robust(ma, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
            try Self.checkPaired(fa, fb, "adversarial", "lcnn+gradreg")
            let part = mcNemar(fa, fb, "adversarial", "lcnn+gradreg", rule: .bounded(margin: margin, .less))
            return Self.outcome("robust accuracy: LCNN + GradReg \(accuracyText(fb)); Adversarial \(accuracyText(fa))",
                                "McNemar exact (Wald interval)", [part], directional: false)
        }
        add("§5.4, Table 3", "The curvature's train–test discrepancy is smaller than the gradient norm's and the Hessian norm's, for every method of the paper (paper: 0.017–0.146 vs 10.4–21.8)") {
            var parts: [ClaimPart] = [], measured: [String] = [], missing: [String] = []
            for name in PaperClaims.paperMethodOrder {
                guard let m = methods[name], !m.results.isEmpty else {
                    missing.append(name)
                    continue
                }
                let k = m.results.count
                var test: [SampleQuantity: [[Double]]] = [:], train: [SampleQuantity: [[Double]]] = [:]
                do {
                    for q in [SampleQuantity.gradientNorm, .spectralNorm, .curvature] {
                        test[q] = try perSample(m, q, seeds: k)
                        train[q] = try perSample(m, q, seeds: k, train: true)
                    }
                    // G1, G2 and C of one seed come from the same samples: equal, non-zero counts.
                    for s in 0..<k {
                        let tn = Set([SampleQuantity.gradientNorm, .spectralNorm, .curvature].map { test[$0]![s].count })
                        let rn = Set([SampleQuantity.gradientNorm, .spectralNorm, .curvature].map { train[$0]![s].count })
                        guard tn.count == 1, rn.count == 1, !tn.contains(0), !rn.contains(0) else {
                            throw MissingMeasurement(reason: "inconsistent per-sample counts")
                        }
                    }
                } catch {
                    missing.append(name)
                    continue
                }
                parts.append(discrepancyPart(m, test: test, train: train, other: .gradientNorm))
                parts.append(discrepancyPart(m, test: test, train: train, other: .spectralNorm))
                func pooled(_ q: SampleQuantity) -> Double {
                    Self.mean((0..<k).map { s in
                        Self.discrepancy(test: test[q]![s], train: train[q]![s],
                                         Array(test[q]![s].indices), Array(train[q]![s].indices))
                    })
                }
                measured.append("\(d(name)): d_C \(PaperClaims.num(pooled(.curvature))), d_G1 \(PaperClaims.num(pooled(.gradientNorm))), "
                                + "d_G2 \(PaperClaims.num(pooled(.spectralNorm)))")
            }
            guard !parts.isEmpty else {
                throw MissingMeasurement(reason: "no method of the paper with per-sample G1–G3 on training and test samples")
            }
            var text = measured.joined(separator: "; ")
            if !missing.isEmpty { text += " (not measured: \(missing.map(d).joined(separator: ", ")))" }
            return Self.outcome(text, "bootstrap (train and test samples resampled independently, mean over seeds)", parts)
        }

        /// Per-step cost of `a` relative to `b`.
        func cost(_ a: String, _ b: String, rule: ClaimRule) throws -> ClaimOutcome {
            let ma = try run(a), mb = try run(b)
            let k = min(ma.millisecondsPerStep.count, mb.millisecondsPerStep.count)
            let ta = Array(ma.millisecondsPerStep.prefix(k)), tb = Array(mb.millisecondsPerStep.prefix(k))
            guard k > 0, !ta.joined().isEmpty, !tb.joined().isEmpty else {
                throw MissingMeasurement(reason: "no training cost recorded for \(ma.millisecondsPerStep.joined().isEmpty ? d(a) : d(b))")
            }
            let part = ratio(ta, tb, a, b, rule: rule)
            return Self.outcome("ms per step: \(d(a)) \(meanText(ta)); \(d(b)) \(meanText(tb))", "bootstrap ratio over epochs",
                                [part], directional: rule.isDirectional)
        }

        add("§5.1", "GradReg costs more per step than LCNN (paper: ~270 s vs ~160 s per epoch)") {
            try cost("gradreg", "lcnn", rule: .directional(.greater))
        }
        add("§5.1", "LCNN costs at most \(Self.plain(PaperClaims.costFactor))× Standard per step (paper: ~160 s vs ~100 s per epoch)") {
            try cost("lcnn", "standard", rule: .bounded(margin: PaperClaims.costFactor, .less))
        }
        add("§4, Theorem 1", "LCNN's data-free curvature bound is far (≥ \(Self.plain(settings.boundFactor))×) smaller than Standard's") {
            let ml = try run("lcnn"), ms = try run("standard")
            let k = seedCount([ml, ms])
            let a = ml.results.prefix(k).map(\.logCurvatureBound), b = ms.results.prefix(k).map(\.logCurvatureBound)
            guard (a + b).allSatisfy(\.isFinite) else {
                throw MissingMeasurement(reason: "bound undefined (max-pool or ReLU)")
            }
            let holds = zip(a, b).map { $1 - $0 >= Foundation.log(settings.boundFactor) }
            let count = holds.filter { $0 }.count
            let verdict: Verdict = count == k ? .bornOut : count == 0 ? .contradicted : .inconclusive
            let seeds = zip(a, b).map { "log bound LCNN \(PaperClaims.num($0)), Standard \(PaperClaims.num($1)) "
                + "(ratio \(String(format: "%.3g", Foundation.exp($1 - $0)))×)" }
            let measured = k == 1 ? seeds[0] : seeds.enumerated().map { "seed \($0 + 1): \($1)" }.joined(separator: "; ")
            return ClaimOutcome(measured: measured, verdict: verdict,
                                test: "deterministic (data-free bound), per seed: ratio ≥ \(Self.plain(settings.boundFactor))× "
                                    + "in \(count) of \(k) seed\(k == 1 ? "" : "s")",
                                seedAgreement: k >= 2 ? "holds in \(count) of \(k) seeds" : nil)
        }
        add("`000`, Tables 5–6", "Centered softplus gives the LCNN a lower mean curvature than parametric swish") {
            try lowerMean("lcnn", "lcnn-swish", .curvature)
        }
        add("`000`, Tables 7–8, §8", "The LCNN with centered softplus is more robust than with parametric swish (\(pgdText), and ℓ∞ FGSM at ε = \(linf))") {
            let ml = try run("lcnn"), ms = try run("lcnn-swish")
            let k = seedCount([ml, ms])
            let pl = try robust(ml, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
            let ps = try robust(ms, fgsm: false, epsilon: settings.l2Epsilon, seeds: k)
            let fl = try robust(ml, fgsm: true, epsilon: settings.linfEpsilon, seeds: k)
            let fs = try robust(ms, fgsm: true, epsilon: settings.linfEpsilon, seeds: k)
            try Self.checkPaired(pl, ps, "lcnn", "lcnn-swish")
            try Self.checkPaired(fl, fs, "lcnn", "lcnn-swish")
            var pgd = mcNemar(pl, ps, "lcnn", "lcnn-swish", rule: .directional(.greater))
            var fgsm = mcNemar(fl, fs, "lcnn", "lcnn-swish", rule: .directional(.greater))
            pgd.text = "PGD: " + pgd.text
            fgsm.text = "FGSM: " + fgsm.text
            return Self.outcome("PGD: softplus \(accuracyText(pl)), swish \(accuracyText(ps)); "
                                + "FGSM: softplus \(accuracyText(fl)), swish \(accuracyText(fs))", "McNemar exact", [pgd, fgsm])
        }
        return checks
    }
}
