import Foundation
import Testing

@testable import LCNNKit

/// Hand-built evaluation results for the claim checks (no model is trained or measured).
enum ClaimFixtures {
    /// n draws of level·(1 + relative·N(0, 1)) from the module's seeded generator.
    static func values(_ n: Int, level: Double, relative: Double = 0.2, seed: UInt64) -> [Float] {
        var g = BootstrapGenerator(seed: seed)
        return (0..<n).map { _ in Float(level * (1 + relative * g.nextGaussian())) }
    }

    /// The first round(rate·n) samples true: two such sets are nested, so of two methods the one
    /// with the higher rate succeeds on every sample the other does (McNemar: n01 = 0).
    static func flags(_ rate: Double, _ n: Int) -> [Bool] {
        let k = Int((rate * Double(n)).rounded())
        return (0..<n).map { $0 < k }
    }

    static func summary(g: [Float], s: [Float], c: [Float]) -> CurvatureSummary {
        var x = CurvatureSummary(batches: [], measurement: CurvatureMeasurement())
        x.perSample = .init(gradientNorm: g, spectralNorm: s, curvature: c)
        return x
    }

    static func report(_ attack: AttackKind, _ byEpsilon: [(Float, [Bool])]) -> RobustAccuracyReport {
        let n = byEpsilon.first?.1.count ?? 0
        let points = byEpsilon.map { eps, f in
            RobustAccuracyPoint(attack: attack, epsilon: eps, samples: f.count, cleanCorrect: f.count,
                                robustCorrect: f.filter { $0 }.count, cleanAccuracy: 1,
                                robustAccuracy: Double(f.filter { $0 }.count) / Double(max(f.count, 1)),
                                robust: SampleFlags(f))
        }
        return RobustAccuracyReport(dataset: "fixture", attack: attack, options: AttackOptions(), seed: 0, samples: n,
                                    cleanCorrect: n, cleanAccuracy: 1, points: points)
    }

    /// One seed of one method.
    static func result(correct: [Bool]? = nil, test: CurvatureSummary? = nil, train: CurvatureSummary? = nil,
                       pgd: [Bool]? = nil, fgsm: [Bool]? = nil, epsilon: Float = 0.1, logBound: Double = 0) -> EvaluationResult {
        var r = EvaluationResult(label: "fixture", checkpoint: "-", dataset: "fixture",
                                 testAccuracy: correct.map { Double($0.filter { $0 }.count) / Double(max($0.count, 1)) } ?? 0,
                                 curvatureBound: Foundation.exp(logBound), logCurvatureBound: logBound)
        r.testCorrect = correct.map(SampleFlags.init)
        r.test = test
        r.train = train
        // A second ε the claims must not pick up.
        r.pgd = pgd.map { report(.pgdL2, [(epsilon / 2, flags(1, $0.count)), (epsilon, $0)]) }
        r.fgsm = fgsm.map { report(.fgsmLinf, [(epsilon, $0)]) }
        return r
    }

    /// Levels shaped like the paper's Tables 1–3 (every claim holds, clearly).
    struct Levels {
        var accuracy: Double, g1: Double, g2: Double, c: Double, pgd: Double, fgsm: Double, ms: Double, bound: Double
    }

    static let paper: [String: Levels] = [
        "standard": Levels(accuracy: 0.7742, g1: 19.66, g2: 6061.96, c: 270.89, pgd: 0.3755, fgsm: 0.30, ms: 10, bound: 40),
        "lcnn": Levels(accuracy: 0.7730, g1: 22.04, g2: 1143.62, c: 69.50, pgd: 0.3972, fgsm: 0.33, ms: 15, bound: 12),
        "gradreg": Levels(accuracy: 0.7720, g1: 8.86, g2: 776.56, c: 89.47, pgd: 0.6106, fgsm: 0.5, ms: 27, bound: 38),
        "lcnn+gradreg": Levels(accuracy: 0.7729, g1: 9.87, g2: 154.36, c: 25.30, pgd: 0.6336, fgsm: 0.55, ms: 35, bound: 11),
        "cure": Levels(accuracy: 0.7648, g1: 8.86, g2: 979.45, c: 116.31, pgd: 0.6128, fgsm: 0.5, ms: 50, bound: 39),
        "softplus-wd": Levels(accuracy: 0.7744, g1: 18.08, g2: 1052.84, c: 70.39, pgd: 0.3804, fgsm: 0.3, ms: 10, bound: 20),
        "adversarial": Levels(accuracy: 0.7696, g1: 7.99, g2: 501.43, c: 63.79, pgd: 0.6470, fgsm: 0.6, ms: 50, bound: 39),
        "lcnn-swish": Levels(accuracy: 0.7700, g1: 23, g2: 1500, c: 80, pgd: 0.35, fgsm: 0.25, ms: 16, bound: 13),
    ]

    /// Per-sample data for `levels`: 200 curvature samples (test; training samples have G1 and G2
    /// ten times smaller and the same C, as in Table 3), 10,000 test-correct flags, 2,000 attack
    /// flags, 10 epochs of timings with 2 % noise.
    static func runs(_ levels: [String: Levels] = paper, seeds: Int = 1, samples: Int = 200) -> [String: MethodRuns] {
        var out: [String: MethodRuns] = [:]
        for (index, (name, l)) in levels.sorted(by: { $0.key < $1.key }).enumerated() {
            var results: [EvaluationResult] = []
            var ms: [[Double]] = []
            for s in 0..<seeds {
                let base = UInt64(index * 100 + s * 10)
                let test = summary(g: values(samples, level: l.g1, seed: base + 1), s: values(samples, level: l.g2, seed: base + 2),
                                   c: values(samples, level: l.c, seed: base + 3))
                let train = summary(g: values(samples, level: l.g1 / 10, seed: base + 4),
                                    s: values(samples, level: l.g2 / 10, seed: base + 5),
                                    c: values(samples, level: l.c, seed: base + 6))
                results.append(result(correct: flags(l.accuracy, 10_000), test: test, train: train,
                                      pgd: flags(l.pgd, 2000), fgsm: flags(l.fgsm, 2000), logBound: l.bound))
                ms.append(values(10, level: l.ms, relative: 0.02, seed: base + 7).map(Double.init))
            }
            out[name] = MethodRuns(name: name, results: results, millisecondsPerStep: ms)
        }
        return out
    }

    static let settings = ClaimSettings(l2Epsilon: 0.1, linfEpsilon: 0.1, resamples: 300)
}

/// The paper's claims are verdicts of statistical tests on per-sample data (SPEC S3–S4):
/// borne out / contradicted only when significant at α = 0.05, else inconclusive.
@Suite("PaperClaims")
struct PaperClaimsTests {
    typealias F = ClaimFixtures

    static func check(_ runs: [String: MethodRuns], _ settings: ClaimSettings = F.settings) -> [ClaimCheck] {
        PaperClaims.check(runs, settings: settings)
    }

    static func claim(_ checks: [ClaimCheck], _ fragment: String) throws -> ClaimCheck {
        try #require(checks.first { $0.claim.contains(fragment) }, "no claim containing \(fragment)")
    }

    static func verdict(_ checks: [ClaimCheck], _ fragment: String) throws -> Verdict {
        try claim(checks, fragment).verdict
    }

    /// The fragments of the 14 claims, in order.
    static let fragments = [
        "lower mean curvature C(x) than Standard", "lower mean Hessian norm", "lowest mean curvature",
        "lower mean gradient norm", "accuracy is at most", "LCNN is more robust", "than LCNN and than GradReg",
        "on par with adversarial", "train–test discrepancy", "GradReg costs more", "LCNN costs at most",
        "data-free curvature bound", "lower mean curvature than parametric swish", "more robust than with parametric swish",
    ]

    // MARK: All claims

    @Test("data shaped like the paper's tables: all 14 claims borne out, in order, with their tests")
    func paperShapedData() throws {
        let checks = Self.check(F.runs())
        #expect(checks.count == 14)
        for (c, fragment) in zip(checks, Self.fragments) {
            #expect(c.claim.contains(fragment))
            #expect(c.verdict == .bornOut, "\(c.claim): \(c.measured) — \(c.test)")
            #expect(c.seedAgreement == nil)
        }
        let first = checks[0]
        #expect(first.source == "§5.1, Table 1")
        #expect(first.claim.contains("paper: 69.50 vs 270.89"))
        #expect(first.test.hasPrefix("paired bootstrap, LCNN − Standard = −"))
        // The bootstrap's p-value cannot go below 2/(B + 1).
        #expect(first.test.contains("p ≤ 0.0066 (300 resamples)") && first.test.contains("n = 200"), "\(first.test)")
        #expect(first.measured.hasPrefix("LCNN ") && first.measured.contains("; Standard 2"))
        #expect(checks[5].test.contains("p < 1e-4"))
        #expect(checks[7].test.contains("Adversarial − (LCNN + GradReg) = +"))
        #expect(checks[4].test.hasPrefix("McNemar exact") && checks[4].test.contains("n = 10000"))
        #expect(checks[5].test.contains("n = 2000"))
        #expect(checks[9].test.hasPrefix("bootstrap ratio"))
        #expect(PaperClaims.summary(checks) == "14 borne out, 0 contradicted, 0 inconclusive, 0 not measured")
    }

    @Test("the robustness claims name the calibrated ε")
    func calibratedEpsilon() throws {
        let settings = ClaimSettings(l2Epsilon: 0.5, linfEpsilon: 0.03, resamples: 200)
        let checks = Self.check([:], settings)
        for i in [5, 6, 7, 13] {
            #expect(checks[i].claim.contains("ε = 0.5 (the calibrated analogue of the paper's 0.1)"), "\(checks[i].claim)")
        }
        #expect(checks[13].claim.contains("ℓ∞ FGSM at ε = 0.03"))
        #expect(checks[5].claim.contains("paper: 39.72% vs 37.55%"))
    }

    // MARK: Directional claims

    @Test("a large clear difference is borne out; the reverse is contradicted (and bold in Markdown)")
    func reversedCurvature() throws {
        var levels = F.paper
        levels["lcnn"]!.c = 300
        levels["lcnn"]!.g2 = 7000
        levels["standard"]!.g1 = 5   // GradReg's gradient norm now above Standard's
        let checks = Self.check(F.runs(levels))
        #expect(try Self.verdict(checks, "lower mean curvature C(x) than Standard") == .contradicted)
        #expect(try Self.verdict(checks, "lower mean Hessian norm") == .contradicted)
        #expect(try Self.verdict(checks, "lower mean gradient norm") == .contradicted)
        // Swish (80) now below centered softplus (300).
        #expect(try Self.verdict(checks, "lower mean curvature than parametric swish") == .contradicted)
        let markdown = PaperClaims.markdown(checks)
        #expect(markdown.hasPrefix("| source | the paper's claim | measured (mean or accuracy with 95 % interval) | test | verdict |"))
        #expect(markdown.contains("| **contradicted** |"))
        #expect(markdown.split(separator: "\n").count == 16)
        #expect(try Self.claim(checks, "lower mean curvature C(x)").test.contains("LCNN − Standard = +"))
    }

    @Test("a small difference in noisy data is inconclusive, though its point estimate favours the claim")
    func noisyIsInconclusive() throws {
        var runs = F.runs()
        // 30 samples, sd 100, LCNN 5 lower on average: the point estimate says "lower".
        let standard = F.values(30, level: 270, relative: 0.4, seed: 7)
        var g = BootstrapGenerator(seed: 99)
        let noise = (0..<30).map { _ in Float(40 * g.nextGaussian()) }
        let centred = noise.map { $0 - noise.reduce(0, +) / 30 }
        let lcnn = zip(standard, centred).map { $0 - 5 + $1 }
        runs["standard"]!.results[0].test!.perSample!.curvature = standard
        runs["lcnn"]!.results[0].test!.perSample!.curvature = lcnn
        try #require(lcnn.reduce(0, +) < standard.reduce(0, +))
        let c = try Self.claim(Self.check(runs), "lower mean curvature C(x) than Standard")
        #expect(c.verdict == .inconclusive, "\(c.test)")
        #expect(c.test.contains("n = 30"))
    }

    @Test("identical per-sample values are inconclusive")
    func identicalIsInconclusive() throws {
        var runs = F.runs()
        runs["lcnn"]!.results[0].test = runs["standard"]!.results[0].test
        let c = try Self.claim(Self.check(runs), "lower mean Hessian norm")
        #expect(c.verdict == .inconclusive)
        #expect(c.test.contains("= +0 [0, 0]") && c.test.contains("p = 1"), "\(c.test)")
    }

    @Test("non-finite per-sample values make the comparison inconclusive, with a note, not a crash")
    func nonFinite() throws {
        var runs = F.runs()
        runs["lcnn"]!.results[0].test!.perSample!.curvature[3] = .nan
        runs["lcnn"]!.results[0].test!.perSample!.curvature[5] = .infinity
        let checks = Self.check(runs)
        let c = try Self.claim(checks, "lower mean curvature C(x) than Standard")
        #expect(c.verdict == .inconclusive)
        #expect(c.test.contains("undefined: 2 non-finite per-sample values"), "\(c.test)")
        #expect(c.measured.contains("undefined (2 of 200 values non-finite)"))
        // LCNN + GradReg vs LCNN is one of six parts: the whole claim is inconclusive.
        #expect(try Self.verdict(checks, "lowest mean curvature") == .inconclusive)
        #expect(try Self.verdict(checks, "lower mean curvature than parametric swish") == .inconclusive)
        // Table 3 uses LCNN's C too.
        #expect(try Self.verdict(checks, "train–test discrepancy") == .inconclusive)
        // Unaffected claims keep their verdicts.
        #expect(try Self.verdict(checks, "lower mean Hessian norm") == .bornOut)
    }

    // MARK: Not measured

    @Test("claims whose runs are missing are 'not measured', with the reason")
    func missingRuns() throws {
        let checks = Self.check(["standard": F.runs()["standard"]!])
        #expect(checks.count == 14)
        for c in checks where !c.claim.contains("train–test") {
            #expect(c.verdict == .notMeasured, "\(c.claim)")
            #expect(c.measured.hasPrefix("no run `"), "\(c.measured)")
            #expect(c.test == "—")
        }
        // Table 3 is a property of each method: Standard alone is measured, the others named.
        #expect(try Self.verdict(checks, "train–test") == .bornOut)
        #expect(try Self.claim(checks, "train–test").measured
                    .hasSuffix("(not measured: LCNN, GradReg, LCNN + GradReg, CURE, Softplus + WD, Adversarial)"))
        #expect(PaperClaims.summary(checks) == "1 borne out, 0 contradicted, 0 inconclusive, 13 not measured")

        var runs = F.runs()
        runs["lcnn-swish"] = nil
        let swish = Self.check(runs)
        #expect(try Self.claim(swish, "lower mean curvature than parametric swish").measured == "no run `lcnn-swish`")
        #expect(try Self.verdict(swish, "more robust than with parametric swish") == .notMeasured)
        #expect(swish.filter { $0.verdict == .bornOut }.count == 12)

        let empty = Self.check([:])
        #expect(empty.allSatisfy { $0.verdict == .notMeasured })
        #expect(PaperClaims.summary(empty) == "0 borne out, 0 contradicted, 0 inconclusive, 14 not measured")
    }

    @Test("missing per-sample data, an absent ε and unpairable samples are 'not measured'")
    func missingMeasurements() throws {
        var runs = F.runs()
        runs["lcnn"]!.results[0].test!.perSample = nil
        runs["standard"]!.results[0].testCorrect = nil
        runs["gradreg"]!.results[0].pgd!.points[1].robust = nil
        runs["lcnn-swish"]!.results[0].fgsm = nil
        runs["cure"]!.results[0].test!.perSample!.curvature.removeLast()
        let checks = Self.check(runs)
        let c = try Self.claim(checks, "lower mean curvature C(x) than Standard")
        #expect(c.verdict == .notMeasured && c.measured.contains("no per-sample C on the test samples for LCNN"))
        let acc = try Self.claim(checks, "accuracy is at most")
        #expect(acc.verdict == .notMeasured && acc.measured.contains("no per-sample test correctness for Standard"))
        let both = try Self.claim(checks, "than LCNN and than GradReg")
        #expect(both.verdict == .notMeasured && both.measured.contains("GradReg"))
        #expect(try Self.claim(checks, "more robust than with parametric swish").measured == "no ℓ∞ FGSM at ε = 0.1 for LCNN (swish)")
        #expect(try Self.verdict(checks, "lowest mean curvature") == .notMeasured)
        // CURE still lacks a value: LCNN is missing first in the paper's order.
        runs["lcnn"] = F.runs()["lcnn"]
        let lowest = try Self.claim(Self.check(runs), "lowest mean curvature")
        #expect(lowest.verdict == .notMeasured && lowest.measured.contains("cannot pair LCNN + GradReg and CURE: 200 vs 199"),
                "\(lowest.measured)")
        // Table 3 skips the method without per-sample values and names it.
        runs["lcnn"]!.results[0].train = nil
        let table3 = try Self.claim(Self.check(runs), "train–test discrepancy")
        #expect(table3.verdict == .bornOut && table3.measured.contains("(not measured: LCNN, CURE)"), "\(table3.measured)")

        // An ε that was not attacked.
        let other = Self.check(F.runs(), ClaimSettings(l2Epsilon: 0.3, linfEpsilon: 0.1, resamples: 200))
        for fragment in ["LCNN is more robust", "than LCNN and than GradReg", "on par with adversarial", "more robust than with parametric swish"] {
            let c = try Self.claim(other, fragment)
            #expect(c.verdict == .notMeasured && c.measured.contains("no ℓ2 PGD at ε = 0.3"), "\(c.measured)")
        }
    }

    @Test("'lowest of all' needs all seven methods, and any lower method contradicts it")
    func lowestOfAll() throws {
        var runs = F.runs()
        runs["cure"] = nil
        #expect(try Self.verdict(Self.check(runs), "lowest mean curvature") == .notMeasured)
        var levels = F.paper
        levels["adversarial"]!.c = 15
        let checks = Self.check(F.runs(levels))
        let c = try Self.claim(checks, "lowest mean curvature")
        #expect(c.verdict == .contradicted)
        #expect(c.measured.contains("lowest other: Adversarial 1"), "\(c.measured)")
        #expect(c.test.contains("(LCNN + GradReg) − Adversarial = +"))
        #expect(c.test.contains("(LCNN + GradReg) − (Softplus + WD) = −"))
        #expect(c.test.components(separatedBy: "(LCNN + GradReg) − ").count == 7)
    }

    // MARK: Bounded accuracy claim

    /// Standard and LCNN on n samples: Standard correct on the first `correct`, LCNN the same
    /// but wrong on `worse` of them.
    static func accuracyRuns(n: Int, correct: Int, worse: Int) -> [String: MethodRuns] {
        let standard = (0..<n).map { $0 < correct }
        let lcnn = (0..<n).map { $0 < correct - worse }
        return ["standard": MethodRuns(name: "standard", results: [F.result(correct: standard)], millisecondsPerStep: []),
                "lcnn": MethodRuns(name: "lcnn", results: [F.result(correct: lcnn)], millisecondsPerStep: [])]
    }

    @Test("'at most 2 points below': 0.5 points on 10,000 borne out; 5 points contradicted; 1 point on 100 inconclusive")
    func boundedAccuracy() throws {
        let close = try Self.claim(Self.check(Self.accuracyRuns(n: 10_000, correct: 8000, worse: 50)), "accuracy is at most")
        #expect(close.verdict == .bornOut, "\(close.test)")
        #expect(close.test.contains("Standard − LCNN = +0.50 points") && close.test.contains("bound ≤ 2.00 points"), "\(close.test)")
        #expect(close.measured.contains("LCNN 79.50% [") && close.measured.contains("Standard 80.00% ["), "\(close.measured)")

        let far = try Self.claim(Self.check(Self.accuracyRuns(n: 10_000, correct: 8000, worse: 500)), "accuracy is at most")
        #expect(far.verdict == .contradicted, "\(far.test)")

        // The point estimate (1 point) is within the bound, but 100 samples cannot tell.
        let small = try Self.claim(Self.check(Self.accuracyRuns(n: 100, correct: 80, worse: 1)), "accuracy is at most")
        #expect(small.verdict == .inconclusive, "\(small.test)")

        // LCNN better than Standard: borne out.
        let better = try Self.claim(Self.check(Self.accuracyRuns(n: 10_000, correct: 8000, worse: -100)), "accuracy is at most")
        #expect(better.verdict == .bornOut)
    }

    @Test("'on par with adversarial training' is bounded the same way")
    func onPar() throws {
        func verdict(_ adversarial: Double, _ both: Double, n: Int) throws -> Verdict {
            var runs = F.runs()
            runs["adversarial"]!.results[0].pgd = F.report(.pgdL2, [(0.1, F.flags(adversarial, n))])
            runs["lcnn+gradreg"]!.results[0].pgd = F.report(.pgdL2, [(0.1, F.flags(both, n))])
            return try Self.verdict(Self.check(runs), "on par with adversarial")
        }
        #expect(try verdict(0.65, 0.64, n: 5000) == .bornOut)
        #expect(try verdict(0.65, 0.55, n: 5000) == .contradicted)
        #expect(try verdict(0.65, 0.64, n: 200) == .inconclusive)
        #expect(try verdict(0.60, 0.64, n: 200) == .bornOut)
    }

    // MARK: Robustness (McNemar)

    @Test("robustness claims: more robust borne out, less robust contradicted, a few samples inconclusive")
    func robustness() throws {
        var levels = F.paper
        levels["lcnn"]!.pgd = 0.30              // below Standard's 0.3755
        levels["lcnn-swish"]!.fgsm = 0.40       // FGSM: swish above softplus
        let checks = Self.check(F.runs(levels))
        #expect(try Self.verdict(checks, "LCNN is more robust") == .contradicted)
        #expect(try Self.verdict(checks, "more robust than with parametric swish") == .contradicted)
        let swish = try Self.claim(checks, "more robust than with parametric swish")
        #expect(swish.test.contains("PGD: LCNN − LCNN (swish) = −") && swish.test.contains("FGSM: LCNN − LCNN (swish) = −"),
                "\(swish.test)")

        // 3 more robust samples of 200: p = 0.25.
        var runs = F.runs()
        runs["standard"]!.results[0].pgd = F.report(.pgdL2, [(0.1, F.flags(0.40, 200))])
        runs["lcnn"]!.results[0].pgd = F.report(.pgdL2, [(0.1, F.flags(0.415, 200))])
        let c = try Self.claim(Self.check(runs), "LCNN is more robust")
        #expect(c.verdict == .inconclusive)
        #expect(c.test.contains("p = 0.25"), "\(c.test)")
    }

    // MARK: Seeds

    @Test("seeds are pooled for paired tests: two seeds decide what one cannot")
    func seedPooling() throws {
        // Per seed, LCNN is robust on 5 more of 100 samples: p = 2·2⁻⁵ = 0.0625 alone, 2⁻⁹ pooled.
        func method(_ name: String, _ rate: Double, seeds: Int) -> MethodRuns {
            MethodRuns(name: name, results: (0..<seeds).map { _ in F.result(pgd: F.flags(rate, 100)) }, millisecondsPerStep: [])
        }
        let one = Self.check(["standard": method("standard", 0.40, seeds: 1), "lcnn": method("lcnn", 0.45, seeds: 1)])
        let c1 = try Self.claim(one, "LCNN is more robust")
        #expect(c1.verdict == .inconclusive && c1.seedAgreement == nil)
        // LCNN has a third seed: the pairing uses the two both have.
        let two = Self.check(["standard": method("standard", 0.40, seeds: 2), "lcnn": method("lcnn", 0.45, seeds: 3)])
        let c2 = try Self.claim(two, "LCNN is more robust")
        #expect(c2.verdict == .bornOut, "\(c2.test)")
        #expect(c2.test.contains("n = 200") && c2.test.contains("p = 0.002,"), "\(c2.test)")
        #expect(c2.seedAgreement == "direction holds in 2 of 2 seeds")
        #expect(PaperClaims.markdown(two).contains("; direction holds in 2 of 2 seeds |"))
    }

    @Test("seed k of one method is paired with seed k of the other; seed agreement counts per-seed estimates")
    func seedPairingAndAgreement() throws {
        var runs = F.runs(seeds: 2)
        #expect(try Self.claim(Self.check(runs), "lower mean curvature C(x)").seedAgreement == "direction holds in 2 of 2 seeds")
        // Seed 2 of LCNN above Standard, seed 1 far below: pooled still lower, one seed disagrees.
        runs["lcnn"]!.results[1].test!.perSample!.curvature = F.values(200, level: 300, seed: 1234)
        let c = try Self.claim(Self.check(runs), "lower mean curvature C(x)")
        #expect(c.verdict == .bornOut, "\(c.test)")
        #expect(c.seedAgreement == "direction holds in 1 of 2 seeds")
        #expect(c.test.contains("n = 400"))
        #expect(c.measured.contains("(seeds "), "\(c.measured)")
        // Per-seed McNemar and ratio estimates too.
        let checks = Self.check(F.runs(seeds: 2))
        #expect(try Self.claim(checks, "accuracy is at most").seedAgreement == "holds in 2 of 2 seeds")
        #expect(try Self.claim(checks, "GradReg costs more").seedAgreement == "direction holds in 2 of 2 seeds")
        #expect(try Self.claim(checks, "LCNN costs at most").seedAgreement == "holds in 2 of 2 seeds")
        #expect(try Self.claim(checks, "than LCNN and than GradReg").seedAgreement == "direction holds in 2 of 2 seeds")
        #expect(checks.allSatisfy { $0.verdict == .bornOut })
    }

    // MARK: Table 3

    @Test("Table 3: contradicted when the curvature's discrepancy is the larger, inconclusive when all are alike")
    func discrepancy() throws {
        var runs = F.runs()
        let pass = try Self.claim(Self.check(runs), "train–test discrepancy")
        #expect(pass.test.hasPrefix("bootstrap (train and test samples resampled independently"))
        #expect(pass.test.contains("Standard: d_C − d_G1 = −") && pass.test.contains("Adversarial: d_C − d_G2 = −"))
        #expect(pass.measured.contains("Standard: d_C 0.0"), "\(pass.measured)")
        // Standard: training C half the test C (d_C ≈ 0.5), G1 and G2 alike on both (d ≈ 0).
        var standard = runs["standard"]!.results[0]
        standard.train = F.summary(g: F.values(200, level: 19.66, seed: 501), s: F.values(200, level: 6061.96, seed: 502),
                                   c: F.values(200, level: 135, seed: 503))
        runs["standard"]!.results[0] = standard
        #expect(try Self.verdict(Self.check(runs), "train–test discrepancy") == .contradicted)
        // One method, every quantity alike on training and test samples: no difference to find.
        let noisy = F.summary(g: F.values(50, level: 10, relative: 0.5, seed: 1), s: F.values(50, level: 10, relative: 0.5, seed: 2),
                              c: F.values(50, level: 10, relative: 0.5, seed: 3))
        let noisyTrain = F.summary(g: F.values(50, level: 10, relative: 0.5, seed: 4), s: F.values(50, level: 10, relative: 0.5, seed: 5),
                                   c: F.values(50, level: 10, relative: 0.5, seed: 6))
        let only = MethodRuns(name: "lcnn", results: [F.result(test: noisy, train: noisyTrain)], millisecondsPerStep: [])
        let c = try Self.claim(Self.check(["lcnn": only]), "train–test discrepancy")
        #expect(c.verdict == .inconclusive, "\(c.test)")
    }

    // MARK: Cost

    @Test("cost: GradReg cheaper than LCNN contradicted; LCNN at 2× Standard contradicted; missing timings not measured")
    func cost() throws {
        var levels = F.paper
        levels["gradreg"]!.ms = 12
        levels["lcnn"]!.ms = 20
        let checks = Self.check(F.runs(levels))
        #expect(try Self.verdict(checks, "GradReg costs more") == .contradicted)
        let lcnn = try Self.claim(checks, "LCNN costs at most")
        #expect(lcnn.verdict == .contradicted)
        #expect(lcnn.test.contains("LCNN / Standard = 1.9") && lcnn.test.contains("bound ≤ 1.6×")
                    && lcnn.test.contains("n = 10 + 10 epochs"), "\(lcnn.test)")
        #expect(lcnn.measured.hasPrefix("ms per step: LCNN 19.9"), "\(lcnn.measured)")
        // Noisy timings with a ratio near 1.6: inconclusive.
        var runs = F.runs()
        runs["standard"]!.millisecondsPerStep = [[10, 12, 8, 11, 9]]
        runs["lcnn"]!.millisecondsPerStep = [[16, 20, 12, 18, 14]]
        #expect(try Self.verdict(Self.check(runs), "LCNN costs at most") == .inconclusive)
        runs["lcnn"]!.millisecondsPerStep = []
        let none = try Self.claim(Self.check(runs), "LCNN costs at most")
        #expect(none.verdict == .notMeasured && none.measured == "no training cost recorded for LCNN")
    }

    // MARK: Data-free bound

    @Test("data-free bound: every seed borne out, none contradicted, mixed inconclusive, undefined not measured")
    func bound() throws {
        func verdict(lcnn: [Double], standard: [Double]) throws -> ClaimCheck {
            func m(_ name: String, _ b: [Double]) -> MethodRuns {
                MethodRuns(name: name, results: b.map { F.result(logBound: $0) }, millisecondsPerStep: [])
            }
            return try Self.claim(Self.check(["lcnn": m("lcnn", lcnn), "standard": m("standard", standard)]), "data-free")
        }
        let all = try verdict(lcnn: [12, 13], standard: [40, 41])
        #expect(all.verdict == .bornOut && all.seedAgreement == "holds in 2 of 2 seeds")
        #expect(all.test.contains("in 2 of 2 seeds"))
        // log 10 ≈ 2.303: 2 is not ≥ 10×.
        #expect(try verdict(lcnn: [38], standard: [40]).verdict == .contradicted)
        #expect(try verdict(lcnn: [12, 39], standard: [40, 40]).verdict == .inconclusive)
        for undefined in [Double.nan, .infinity, -.infinity] {
            let c = try verdict(lcnn: [12, undefined], standard: [40, 40])
            #expect(c.verdict == .notMeasured && c.measured == "bound undefined (max-pool or ReLU)")
        }
    }

    // MARK: Settings

    @Test("alpha is honoured: a p-value between 0.01 and 0.05 is borne out at 0.05, inconclusive at 0.01")
    func alphaSetting() throws {
        // 6 of 6 discordant pairs favour LCNN: p = 2·2⁻⁶ = 0.03125.
        let runs = ["standard": MethodRuns(name: "standard", results: [F.result(pgd: F.flags(0.40, 100))], millisecondsPerStep: []),
                    "lcnn": MethodRuns(name: "lcnn", results: [F.result(pgd: F.flags(0.46, 100))], millisecondsPerStep: [])]
        #expect(try Self.verdict(Self.check(runs), "LCNN is more robust") == .bornOut)
        let strict = ClaimSettings(l2Epsilon: 0.1, linfEpsilon: 0.1, alpha: 0.01, resamples: 200)
        #expect(try Self.verdict(Self.check(runs, strict), "LCNN is more robust") == .inconclusive)
    }

    @Test("the same inputs and seed give the same checks")
    func deterministic() {
        let runs = F.runs(seeds: 2)
        #expect(Self.check(runs) == Self.check(runs))
    }
}

/// `Statistics.bootstrap(counts:statistic:)`: the generic bootstrap behind the Table 3 claim.
@Suite("PaperClaims: bootstrap of a statistic")
struct PaperClaimsBootstrapStatisticTests {
    static func normal(_ n: Int, mean: Double, sd: Double, seed: UInt64) -> [Double] {
        var g = BootstrapGenerator(seed: seed)
        return (0..<n).map { _ in mean + sd * g.nextGaussian() }
    }

    static func mean(_ xs: [Double], _ idx: [Int]) -> Double {
        idx.reduce(0) { $0 + xs[$1] } / Double(idx.count)
    }

    @Test("one sample, statistic = mean of differences: identical to the paired bootstrap")
    func matchesPairedBootstrap() {
        let a = Self.normal(60, mean: 1, sd: 2, seed: 1), b = Self.normal(60, mean: 0.2, sd: 2, seed: 2)
        let d = zip(a, b).map { $0 - $1 }
        for seed: UInt64 in [0, 7] {
            let reference = Statistics.pairedBootstrap(a, b, resamples: 500, seed: seed)
            let generic = Statistics.bootstrap(count: d.count, resamples: 500, seed: seed, test: "paired bootstrap") {
                Self.mean(d, $0)
            }
            #expect(generic == reference)
        }
    }

    @Test("two samples resampled independently, statistic = difference of means: identical to bootstrapDifference")
    func matchesBootstrapDifference() {
        let a = Self.normal(40, mean: 3, sd: 1, seed: 3), b = Self.normal(25, mean: 2.5, sd: 1, seed: 4)
        let reference = Statistics.bootstrapDifference(a, b, level: 0.9, resamples: 700, seed: 11)
        let generic = Statistics.bootstrap(counts: [a.count, b.count], level: 0.9, resamples: 700, seed: 11) { idx in
            Self.mean(a, idx[0]) - Self.mean(b, idx[1])
        }
        #expect(generic == reference)
        #expect(generic.count == 65)
    }

    @Test("the point estimate uses the identity indices; null and level are honoured")
    func pointNullLevel() {
        let x = Self.normal(200, mean: 5, sd: 1, seed: 5)
        var calls = 0
        let c = Statistics.bootstrap(count: x.count, null: 5, level: 0.8, resamples: 300) { idx in
            calls += 1
            return Self.mean(x, idx)
        }
        #expect(calls == 301)
        #expect(c.difference == x.reduce(0, +) / 200)
        #expect(c.null == 5 && c.interval.level == 0.8)
        #expect(c.interval.contains(c.difference))
        #expect(c.pValue > 0.05)  // the mean is 5 in truth
        let far = Statistics.bootstrap(count: x.count, null: 4, resamples: 300) { Self.mean(x, $0) }
        #expect(far.pValue < 0.01)
    }

    @Test("a ratio-type statistic of two independent samples (relative discrepancy)")
    func relativeDiscrepancy() {
        let test = Self.normal(300, mean: 10, sd: 2, seed: 6), train = Self.normal(300, mean: 5, sd: 1, seed: 7)
        let c = Statistics.bootstrap(counts: [300, 300]) { idx in
            abs(Self.mean(test, idx[0]) - Self.mean(train, idx[1])) / Self.mean(test, idx[0])
        }
        #expect(abs(c.difference - 0.5) < 0.05)
        #expect(c.interval.lower > 0.4 && c.interval.upper < 0.6)
        #expect(c.pValue < 1e-3)
    }

    @Test("invalid input gives NaN fields, never a trap")
    func invalid() {
        let none = Statistics.bootstrap(counts: []) { _ in 1 }
        #expect(none.hasNaN && none.difference.isNaN)
        let empty = Statistics.bootstrap(counts: [3, 0]) { _ in 1 }
        #expect(empty.difference.isNaN && empty.count == 3)
        let nanPoint = Statistics.bootstrap(count: 4) { _ in .nan }
        #expect(nanPoint.difference.isNaN && nanPoint.interval.isUndefined && nanPoint.pValue.isNaN)
        // A finite point with non-finite replicates (1/0 whenever only the zero is drawn, a
        // quarter of them): the point stays, interval and p-value are NaN.
        let pair: [Double] = [1, 0]
        let replicate = Statistics.bootstrap(count: 2, resamples: 200) { idx in 1 / Self.mean(pair, idx) - 2 }
        #expect(replicate.difference == 0 && replicate.interval.isUndefined && replicate.pValue.isNaN)
        let xs: [Double] = [1, 2, 3, 0]
        let noResamples = Statistics.bootstrap(count: 4, resamples: 0) { Self.mean(xs, $0) }
        #expect(noResamples.difference == 1.5 && noResamples.interval.isUndefined)
        let badLevel = Statistics.bootstrap(count: 4, level: 1.5) { Self.mean(xs, $0) }
        #expect(badLevel.difference == 1.5 && badLevel.pValue.isNaN)
    }

    @Test("deterministic in the seed")
    func seeded() {
        let x = Self.normal(50, mean: 0, sd: 1, seed: 8)
        let a = Statistics.bootstrap(count: 50, seed: 1) { Self.mean(x, $0) }
        let b = Statistics.bootstrap(count: 50, seed: 1) { Self.mean(x, $0) }
        let c = Statistics.bootstrap(count: 50, seed: 2) { Self.mean(x, $0) }
        #expect(a == b)
        #expect(a.interval != c.interval)
    }
}
