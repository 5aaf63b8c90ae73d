import Foundation
import Testing

@testable import LCNNKit

/// The statistics behind the reproduction verdicts, against reference values computed
/// independently with SciPy 1.17.1 / statsmodels 0.15.0 (Python 3.11). Each reference
/// states the Python line that produced it.
@Suite("Statistics")
struct StatisticsTests {
    /// |x − reference| ≤ tolerance·max(1, |reference|).
    static func close(_ x: Double, _ reference: Double, _ tolerance: Double) -> Bool {
        abs(x - reference) <= tolerance * max(1, abs(reference))
    }

    /// |x − reference| ≤ tolerance·|reference| (for tiny references).
    static func relativelyClose(_ x: Double, _ reference: Double, _ tolerance: Double) -> Bool {
        abs(x - reference) <= tolerance * abs(reference)
    }

    /// n draws of mean + sd·N(0, 1) from the module's seeded generator.
    static func normalSample(_ n: Int, mean: Double, sd: Double, seed: UInt64) -> [Double] {
        var generator = BootstrapGenerator(seed: seed)
        return (0..<n).map { _ in mean + sd * generator.nextGaussian() }
    }

    static func comparison(_ difference: Double, lower: Double, upper: Double, p: Double, null: Double = 0) -> Comparison {
        Comparison(
            difference: difference, interval: ConfidenceInterval(lower: lower, upper: upper, level: 0.95), pValue: p,
            test: "constructed", count: 100, null: null)
    }

    // MARK: Normal distribution

    @Test("normal quantile matches scipy.stats.norm.ppf")
    func normalQuantile() {
        // python: from scipy.stats import norm; norm.ppf(p)
        let references: [(Double, Double)] = [
            (0.975, 1.959963984540054), (0.025, -1.9599639845400545), (1e-6, -4.753424308822899),
            (0.995, 2.5758293035489004), (0.9, 1.2815515655446004), (1e-12, -7.034483825301131),
        ]
        for (p, z) in references {
            #expect(Self.close(Statistics.normalQuantile(p), z, 1e-12), "p = \(p)")
        }
        #expect(Statistics.normalQuantile(0.5) == 0)
        #expect(Statistics.normalQuantile(0) == -.infinity)
        #expect(Statistics.normalQuantile(1) == .infinity)
        #expect(Statistics.normalQuantile(.nan).isNaN)
    }

    @Test("normal CDF matches scipy.stats.norm.cdf and inverts the quantile")
    func normalCDF() {
        // python: norm.cdf(1.96), norm.cdf(-3), norm.cdf(-10), norm.cdf(2.5)
        #expect(Self.close(Statistics.normalCDF(1.96), 0.9750021048517795, 1e-14))
        #expect(Self.relativelyClose(Statistics.normalCDF(-3), 0.0013498980316300933, 1e-12))
        #expect(Self.relativelyClose(Statistics.normalCDF(-10), 7.61985302416047e-24, 1e-12))
        #expect(Self.close(Statistics.normalCDF(2.5), 0.9937903346742238, 1e-14))
        #expect(Statistics.normalCDF(0) == 0.5)
        for i in 1..<1000 {
            let p = Double(i) / 1000
            #expect(Self.relativelyClose(Statistics.normalCDF(Statistics.normalQuantile(p)), p, 1e-12))
        }
    }

    // MARK: Wilson

    @Test("Wilson intervals match statsmodels proportion_confint(method='wilson')")
    func wilson() {
        // python: from statsmodels.stats.proportion import proportion_confint
        //         proportion_confint(k, n, alpha=0.05, method='wilson')
        let references: [(Int, Int, Double, Double)] = [
            (81, 263, 0.2552885198782742, 0.36620957698280004),
            (0, 10, 0.0, 0.27753279986288926),
            (10, 10, 0.7224672001371106, 1.0),
            (1, 1000, 0.00017654637062607765, 0.005642558597957937),
            (950, 1000, 0.9346861797557492, 0.9618697376072513),
            (5, 20, 0.11186170140766563, 0.4687008776187441),
        ]
        for (k, n, lower, upper) in references {
            let interval = Statistics.wilson(successes: k, trials: n)
            #expect(Self.close(interval.lower, lower, 1e-12), "\(k)/\(n) lower")
            #expect(Self.close(interval.upper, upper, 1e-12), "\(k)/\(n) upper")
            #expect(interval.level == 0.95)
        }
        // python: proportion_confint(81, 263, alpha=0.01, method='wilson')
        let wide = Statistics.wilson(successes: 81, trials: 263, level: 0.99)
        #expect(Self.close(wide.lower, 0.24013690268760773, 1e-12))
        #expect(Self.close(wide.upper, 0.38528250231822986, 1e-12))
    }

    @Test("Wilson is not Wald: 0 of 10 keeps a nonzero upper bound, 10 of 10 a lower bound below 1")
    func wilsonIsNotWald() {
        // A Wald interval p̂ ± z·√(p̂(1 − p̂)/n) collapses to [0, 0] and [1, 1] here
        // (python: proportion_confint(0, 10, method='normal') == (0.0, 0.0)).
        let none = Statistics.wilson(successes: 0, trials: 10)
        #expect(none.lower == 0 && none.upper > 0.27)
        let all = Statistics.wilson(successes: 10, trials: 10)
        #expect(all.upper == 1 && all.lower < 0.73)
    }

    @Test("Wilson edge cases and the proportion estimate")
    func wilsonEdges() {
        #expect(Statistics.wilson(successes: 0, trials: 0) == ConfidenceInterval(lower: 0, upper: 1, level: 0.95))
        #expect(Statistics.wilson(successes: 5, trials: 3).isUndefined)
        #expect(Statistics.wilson(successes: -1, trials: 3).isUndefined)
        #expect(Statistics.wilson(successes: 1, trials: 3, level: 1.5).isUndefined)
        let estimate = Statistics.proportion(successes: 81, trials: 263)
        #expect(estimate.value == 81.0 / 263.0)
        #expect(estimate.interval == Statistics.wilson(successes: 81, trials: 263))
        #expect(estimate.interval.contains(estimate.value))
        #expect(Statistics.proportion(successes: 0, trials: 0).value.isNaN)
    }

    // MARK: McNemar

    @Test("exact McNemar p-values match statsmodels mcnemar(exact=True)")
    func mcNemarPValues() {
        // python: from statsmodels.stats.contingency_tables import mcnemar
        //         mcnemar([[0, n10], [n01, 0]], exact=True).pvalue
        // (equal to scipy.stats.binomtest(n10, n10 + n01, 0.5).pvalue where defined)
        let references: [(Int, Int, Int, Double, Double)] = [  // n10, n01, n, p, relative tolerance
            (12, 3, 100, 0.03515625, 1e-12),
            (25, 25, 60, 1.0, 0),
            (0, 0, 50, 1.0, 0),
            (7, 0, 7, 0.015625, 1e-12),
            (40, 20, 200, 0.01348929373119186, 1e-12),
            (1000, 1100, 10000, 0.03072070786424249, 1e-9),
            (1100, 1000, 10000, 0.03072070786424249, 1e-9),
            (500000, 501500, 2_000_000, 0.1341651666841142, 1e-6),
        ]
        for (n10, n01, n, p, tolerance) in references {
            let c = Statistics.mcNemar(aOnly: n10, bOnly: n01, total: n)
            #expect(Self.relativelyClose(c.pValue, p, tolerance), "n10 = \(n10), n01 = \(n01): \(c.pValue)")
            #expect(c.test == "McNemar exact" && c.count == n && c.null == 0 && !c.isRatio)
        }
    }

    @Test("McNemar is two-sided: 12 vs 3 gives 0.0352, not the one-sided 0.0176")
    func mcNemarTwoSided() {
        // python: scipy.stats.binomtest(3, 15, 0.5, alternative='less').pvalue == 0.017578125
        let p = Statistics.mcNemar(aOnly: 12, bOnly: 3, total: 100).pValue
        #expect(p > 0.03 && abs(p - 2 * 0.017578125) < 1e-12)
    }

    @Test("McNemar difference and Wald interval for paired proportions")
    func mcNemarInterval() {
        // python: d = (n10 - n01)/n; se = math.sqrt(n10 + n01 - (n10 - n01)**2/n)/n
        //         z = norm.ppf(0.975); (d - z*se, d + z*se)
        let references: [(Int, Int, Int, Double, Double, Double)] = [
            (12, 3, 100, 0.09, 0.016168908537358292, 0.1638310914626417),
            (1000, 1100, 10000, -0.01, -0.018979544567870335, -0.0010204554321296636),
            (40, 20, 200, 0.1, 0.025366794990389963, 0.17463320500961005),
            (500000, 501500, 2_000_000, -0.00075, -0.0017307161525237555, 0.0002307161525237555),
        ]
        for (n10, n01, n, d, lower, upper) in references {
            let c = Statistics.mcNemar(aOnly: n10, bOnly: n01, total: n)
            #expect(Self.close(c.difference, d, 1e-14))
            #expect(Self.close(c.interval.lower, lower, 1e-12))
            #expect(Self.close(c.interval.upper, upper, 1e-12))
        }
        #expect(Statistics.mcNemar(aOnly: 9, bOnly: 1, total: 10).interval.upper == 1)  // clamped
        #expect(Statistics.mcNemar(aOnly: 0, bOnly: 0, total: 50).interval == ConfidenceInterval(lower: 0, upper: 0, level: 0.95))
    }

    @Test("McNemar on Bool outcomes counts the discordant pairs; bad input gives NaN")
    func mcNemarBools() {
        let a = [true, true, false, false, true, true]
        let b = [true, false, true, false, false, true]
        #expect(Statistics.mcNemar(a, b) == Statistics.mcNemar(aOnly: 2, bOnly: 1, total: 6))
        // python: mcnemar([[0, 2], [1, 0]], exact=True).pvalue == 1.0
        #expect(Statistics.mcNemar(a, b).pValue == 1)
        let mismatched = Statistics.mcNemar([true], [true, false])
        #expect(mismatched.hasNaN && mismatched.count == 0)
        #expect(Statistics.mcNemar([], []).hasNaN)
        #expect(Statistics.mcNemar(aOnly: 6, bOnly: 5, total: 10).hasNaN)
    }

    // MARK: Bootstrap

    @Test("the generator is SplitMix64 and its indices stay in range")
    func generator() {
        // Reference output of Vigna's splitmix64.c with state 0: 0xE220A8397B1DCDAF.
        var generator = BootstrapGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[generator.nextIndex(below: 7)] += 1 }
        #expect(counts.allSatisfy { $0 > 850 && $0 < 1150 })
    }

    @Test("bootstrap mean: covers the true mean with width ≈ ±1.96·s/√n, deterministic per seed")
    func bootstrapMean() {
        let xs = Self.normalSample(400, mean: 3, sd: 2, seed: 42)
        let mean = xs.reduce(0, +) / 400
        let s = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 399).squareRoot()
        let estimate = Statistics.bootstrapMean(xs)
        #expect(Self.close(estimate.value, mean, 1e-12))
        #expect(estimate.interval.contains(3) && estimate.interval.contains(mean))
        let expectedHalfWidth = 1.959963984540054 * s / 20
        #expect(abs(estimate.interval.width / 2 - expectedHalfWidth) < 0.15 * expectedHalfWidth)
        #expect(Statistics.bootstrapMean(xs) == estimate)
        #expect(Statistics.bootstrapMean(xs, seed: 1) != estimate)
        #expect(Statistics.bootstrapMean(xs, level: 0.99).interval.width > estimate.interval.width)
    }

    @Test("bootstrap mean edge cases: empty, one value, non-finite")
    func bootstrapMeanEdges() {
        let empty = Statistics.bootstrapMean([])
        #expect(empty.value.isNaN && empty.interval.isUndefined)
        #expect(Statistics.bootstrapMean([4.5]) == Estimate(value: 4.5, interval: ConfidenceInterval(lower: 4.5, upper: 4.5, level: 0.95)))
        #expect(Statistics.bootstrapMean([1, .nan, 3]).value.isNaN)
        #expect(Statistics.bootstrapMean([1, .infinity]).interval.isUndefined)
    }

    @Test("paired bootstrap: a constant shift is certain, a symmetric difference is not")
    func pairedBootstrap() {
        let a = (0..<50).map { Double($0) / 8 }
        let shifted = Statistics.pairedBootstrap(a, a.map { $0 + 0.5 })
        #expect(shifted.difference == -0.5)
        #expect(shifted.interval.lower == -0.5 && shifted.interval.upper == -0.5)
        #expect(shifted.pValue < 0.001 && Self.close(shifted.pValue, 2.0 / 2001, 1e-15))
        #expect(shifted.test == "paired bootstrap" && shifted.count == 50)
        #expect(Verdict.directional(shifted, claimed: .less) == .bornOut)

        var generator = BootstrapGenerator(seed: 7)
        let base = (0..<100).map { _ in generator.nextGaussian() }
        var noise: [Double] = []
        for _ in 0..<50 {
            let v = generator.nextGaussian()
            noise += [v, -v]
        }
        let symmetric = Statistics.pairedBootstrap(zip(base, noise).map { $0 + $1 }, base)
        #expect(symmetric.pValue > 0.2 && symmetric.interval.contains(0))
        #expect(Verdict.directional(symmetric, claimed: .greater) == .inconclusive)

        let mismatched = Statistics.pairedBootstrap([1, 2], [1])
        #expect(mismatched.hasNaN && mismatched.count == 0)
        #expect(Statistics.pairedBootstrap([], []).hasNaN)
        #expect(Verdict.directional(mismatched, claimed: .less) == .inconclusive)
    }

    @Test("unpaired bootstrap difference covers the true difference with width ≈ ±1.96·SE")
    func bootstrapDifference() {
        let a = Self.normalSample(300, mean: 10, sd: 1, seed: 3)
        let b = Self.normalSample(200, mean: 9, sd: 2, seed: 4)
        let c = Statistics.bootstrapDifference(a, b)
        #expect(c.test == "bootstrap" && c.count == 500 && c.null == 0 && !c.isRatio)
        #expect(c.interval.contains(1) && c.pValue < 0.001)
        let se = (1.0 / 300 + 4.0 / 200).squareRoot()
        #expect(abs(c.interval.width / 2 - 1.959963984540054 * se) < 0.15 * 1.959963984540054 * se)
        #expect(Statistics.bootstrapDifference(a, b, seed: 9) != c)
        #expect(Statistics.bootstrapDifference(a, b) == c)
        #expect(Statistics.bootstrapDifference([], b).hasNaN)
    }

    @Test("bootstrap ratio: constant 2 over constant 1, and two samples of one distribution")
    func bootstrapRatio() {
        let c = Statistics.bootstrapRatio(Array(repeating: 2.0, count: 20), Array(repeating: 1.0, count: 30))
        #expect(c.difference == 2 && c.interval.lower == 2 && c.interval.upper == 2)
        #expect(c.isRatio && c.null == 1 && c.test == "bootstrap ratio" && c.count == 50)
        #expect(c.pValue < 0.002)
        #expect(Verdict.directional(c, claimed: .greater) == .bornOut)
        #expect(Statistics.bootstrapRatio([2.0, 2.0], [1.0, 1.0], nullRatio: 2).pValue == 1)

        let times = Self.normalSample(40, mean: 10, sd: 1, seed: 11)
        let same = Statistics.bootstrapRatio(times, times.reversed())
        #expect(same.interval.contains(1))
        #expect(Verdict.directional(same, claimed: .greater) == .inconclusive)
        #expect(Statistics.bootstrapRatio([1, 2], [0, 0]).hasNaN)
    }

    // MARK: Verdicts

    @Test("directional verdicts: each branch")
    func directional() {
        let above = Self.comparison(0.1, lower: 0.05, upper: 0.15, p: 0.01)
        #expect(Verdict.directional(above, claimed: .greater) == .bornOut)
        #expect(Verdict.directional(above, claimed: .less) == .contradicted)
        let weak = Self.comparison(0.1, lower: -0.05, upper: 0.25, p: 0.2)
        #expect(Verdict.directional(weak, claimed: .greater) == .inconclusive)
        #expect(Verdict.directional(weak, claimed: .greater, alpha: 0.25) == .bornOut)
        // Ratios are judged against their null (1), not against 0.
        let ratio = Self.comparison(0.8, lower: 0.7, upper: 0.9, p: 0.001, null: 1)
        #expect(Verdict.directional(ratio, claimed: .less) == .bornOut)
        #expect(Verdict.directional(ratio, claimed: .greater) == .contradicted)
        #expect(Verdict.directional(Self.comparison(.nan, lower: 0, upper: 1, p: 0.01), claimed: .greater) == .inconclusive)
        #expect(Verdict.directional(Self.comparison(0.1, lower: 0, upper: 1, p: .nan), claimed: .greater) == .inconclusive)
        #expect(Verdict.directional(Self.comparison(0.1, lower: .nan, upper: .nan, p: 0.01), claimed: .greater) == .inconclusive)
    }

    @Test("bounded verdicts: inside, outside and straddling the margin")
    func bounded() {
        // "LCNN's accuracy is at most 2 points below Standard's": std − lcnn ≤ 0.02.
        #expect(Verdict.bounded(Self.comparison(0.01, lower: 0.005, upper: 0.015, p: 0.01), margin: 0.02, claimed: .less) == .bornOut)
        #expect(Verdict.bounded(Self.comparison(0.04, lower: 0.03, upper: 0.05, p: 0.01), margin: 0.02, claimed: .less) == .contradicted)
        #expect(Verdict.bounded(Self.comparison(0.02, lower: 0.01, upper: 0.03, p: 0.5), margin: 0.02, claimed: .less) == .inconclusive)
        #expect(Verdict.bounded(Self.comparison(0.04, lower: 0.03, upper: 0.05, p: 0.01), margin: 0.02, claimed: .greater) == .bornOut)
        #expect(Verdict.bounded(Self.comparison(0.01, lower: 0.005, upper: 0.015, p: 0.01), margin: 0.02, claimed: .greater) == .contradicted)
        #expect(Verdict.bounded(Self.comparison(0.02, lower: 0.01, upper: 0.03, p: 0.5), margin: 0.02, claimed: .greater) == .inconclusive)
        #expect(Verdict.bounded(Self.comparison(0.01, lower: .nan, upper: .nan, p: 0.01), margin: 0.02, claimed: .less) == .inconclusive)
    }

    @Test("all: every one borne out, any contradicted, else inconclusive")
    func allVerdicts() {
        #expect(Verdict.all([.bornOut, .bornOut]) == .bornOut)
        #expect(Verdict.all([.bornOut, .contradicted, .inconclusive]) == .contradicted)
        #expect(Verdict.all([.bornOut, .inconclusive]) == .inconclusive)
        #expect(Verdict.all([.bornOut, .notMeasured]) == .inconclusive)
        #expect(Verdict.all([.notMeasured]) == .notMeasured)
        #expect(Verdict.all([]) == .notMeasured)
        #expect(Verdict.bornOut.rawValue == "borne out" && Verdict.allCases.count == 4)
    }

    // MARK: Formatting and coding

    @Test("interval and p-value text")
    func formatting() {
        let interval = ConfidenceInterval(lower: 0.1, upper: 0.2, level: 0.95)
        #expect(interval.formatted { String(format: "%.2f", $0) } == "[0.10, 0.20]")
        let texts: [(Double, String)] = [
            (0.013, "p = 0.013"), (0.2, "p = 0.200"), (0.0004, "p = 0.0004"), (5e-5, "p < 1e-4"),
            (1, "p = 1"), (.nan, "p = n/a"),
        ]
        for (p, text) in texts {
            #expect(Self.comparison(0, lower: 0, upper: 0, p: p).pValueText == text)
        }
    }

    @Test("comparisons survive a JSON round trip")
    func coding() throws {
        let c = Statistics.mcNemar(aOnly: 12, bOnly: 3, total: 100)
        let decoded = try JSONDecoder().decode(Comparison.self, from: JSONEncoder().encode(c))
        #expect(decoded == c)
        let verdict = try JSONDecoder().decode(Verdict.self, from: JSONEncoder().encode(Verdict.notMeasured))
        #expect(verdict == .notMeasured)
    }
}
