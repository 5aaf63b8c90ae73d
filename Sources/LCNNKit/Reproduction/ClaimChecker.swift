import Foundation

// MARK: - The checker

/// A claim cannot be tested: a run or a measurement is missing.
struct MissingMeasurement: Error {
    var reason: String
}

/// The per-sample quantities of G1–G3.
enum SampleQuantity {
    case gradientNorm, spectralNorm, curvature

    var symbol: String {
        switch self {
        case .gradientNorm: return "G1"
        case .spectralNorm: return "G2"
        case .curvature: return "C"
        }
    }

    func values(_ p: CurvatureSummary.PerSampleCurvature) -> [Float] {
        switch self {
        case .gradientNorm: return p.gradientNorm
        case .spectralNorm: return p.spectralNorm
        case .curvature: return p.curvature
        }
    }
}

/// One test of a claim (a claim may have several): its verdict, its text for the `test` column
/// and, per seed, whether the seed's point estimate goes the claimed way (nil: undefined).
struct ClaimPart {
    var verdict: Verdict
    var text: String
    var perSeed: [Bool?]
}

/// The outcome of a claim that could be tested.
struct ClaimOutcome {
    var measured: String
    var verdict: Verdict
    var test: String
    var seedAgreement: String?
}

/// How a claim is decided from a comparison.
enum ClaimRule {
    /// a − b (or a/b) lies on the claimed side of the null, significantly.
    case directional(ClaimDirection)
    /// a − b (or a/b) ≤ margin (`.less`) or ≥ margin (`.greater`), by the interval.
    case bounded(margin: Double, ClaimDirection)

    func verdict(_ c: Comparison, alpha: Double) -> Verdict {
        switch self {
        case .directional(let d): return Verdict.directional(c, claimed: d, alpha: alpha)
        case .bounded(let margin, let d): return Verdict.bounded(c, margin: margin, claimed: d)
        }
    }

    /// Whether a per-seed point estimate goes the claimed way (nil when not finite).
    func holds(_ estimate: Double, null: Double) -> Bool? {
        guard estimate.isFinite else { return nil }
        switch self {
        case .directional(.less): return estimate < null
        case .directional(.greater): return estimate > null
        case .bounded(let margin, .less): return estimate <= margin
        case .bounded(let margin, .greater): return estimate >= margin
        }
    }

    var isDirectional: Bool {
        if case .directional = self { return true }
        return false
    }
}

struct ClaimChecker {
    let methods: [String: MethodRuns]
    let settings: ClaimSettings

    var level: Double { 1 - settings.alpha }

    // MARK: Formatting

    /// "−3.21": three significant digits with a true minus sign.
    static func signed(_ x: Double) -> String {
        x.isNaN ? "n/a" : minus(String(format: "%+.3g", x))
    }
    static func plain(_ x: Double) -> String {
        x.isNaN ? "n/a" : minus(String(format: "%.3g", x))
    }
    static func minus(_ s: String) -> String {
        s.hasPrefix("-") ? "−" + s.dropFirst() : s
    }
    static func interval(_ i: ConfidenceInterval, _ f: (Double) -> String = ClaimChecker.plain) -> String {
        i.formatted { $0.isNaN ? "n/a" : f($0) }
    }
    static func points(_ x: Double) -> String {
        x.isNaN ? "n/a" : minus(String(format: "%+.2f", 100 * x))
    }
    static func pointsPlain(_ x: Double) -> String {
        x.isNaN ? "n/a" : minus(String(format: "%.2f", 100 * x))
    }
    static func epsilon(_ e: Float) -> String { "\(e)" }

    /// A run's name as an operand of "a − b": parenthesised when it is itself a sum
    /// ("(LCNN + GradReg) − LCNN").
    static func operand(_ name: String) -> String {
        let d = PaperClaims.display(name)
        return d.contains(" + ") ? "(\(d))" : d
    }

    /// The p-value of a bootstrap comparison: at its floor 2/(B + 1) — no replicate on the other
    /// side of the null — "p ≤ 0.001 (2000 resamples)", else `Comparison.pValueText`.
    func bootstrapP(_ c: Comparison) -> String {
        let floor = 2 / Double(settings.resamples + 1)
        guard !c.pValue.isNaN, settings.resamples >= 1, c.pValue <= floor * (1 + 1e-9) else { return c.pValueText }
        return "p ≤ \(String(format: "%.2g", floor)) (\(settings.resamples) resamples)"
    }

    /// "69.5 [65.1, 74.0]" (+ " (seeds 69.5 ± 2.1)" with ≥ 2 seeds) for per-sample values.
    func meanText(_ seeds: [[Double]]) -> String {
        let pooled = seeds.flatMap { $0 }
        let bad = pooled.filter { !$0.isFinite }.count
        if bad > 0 { return "undefined (\(bad) of \(pooled.count) values non-finite)" }
        let e = Statistics.bootstrapMean(pooled, level: level, resamples: settings.resamples, seed: settings.seed)
        return PaperClaims.num(e.value) + " " + Self.interval(e.interval, PaperClaims.num) + acrossSeeds(seeds.map(Self.mean))
    }

    /// " (seeds m ± s)": mean ± sample std of per-seed values, with ≥ 2 seeds.
    func acrossSeeds(_ values: [Double], _ f: (Double) -> String = PaperClaims.num) -> String {
        guard values.count >= 2, values.allSatisfy(\.isFinite) else { return "" }
        let m = Self.mean(values)
        let s = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
        return " (seeds \(f(m)) ± \(f(s)))"
    }

    /// "77.30% [76.51, 78.07]" with the Wilson interval (+ per-seed mean ± std).
    func accuracyText(_ seeds: [[Bool]]) -> String {
        let pooled = seeds.flatMap { $0 }
        let k = pooled.filter { $0 }.count
        let e = Statistics.proportion(successes: k, trials: pooled.count, level: level)
        let perSeed = seeds.map { s in s.isEmpty ? Double.nan : Double(s.filter { $0 }.count) / Double(s.count) }
        return PaperClaims.pct(e.value) + " " + Self.interval(e.interval, Self.pointsPlain)
            + acrossSeeds(perSeed, PaperClaims.pct)
    }

    static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// "direction holds in 2 of 2 seeds" (all parts of the claim per seed), nil below 2 seeds.
    static func agreement(_ parts: [ClaimPart], directional: Bool) -> String? {
        let k = parts.map(\.perSeed.count).min() ?? 0
        guard k >= 2 else { return nil }
        var holds = 0, undefined = 0
        for i in 0..<k {
            let seed = parts.map { $0.perSeed[i] }
            if seed.allSatisfy({ $0 == true }) { holds += 1 } else if !seed.contains(false) { undefined += 1 }
        }
        return (directional ? "direction holds" : "holds") + " in \(holds) of \(k) seeds"
            + (undefined > 0 ? " (\(undefined) undefined)" : "")
    }

    // MARK: Gathering

    func run(_ name: String) throws -> MethodRuns {
        guard let m = methods[name], !m.results.isEmpty else {
            throw MissingMeasurement(reason: "no run `\(name)`")
        }
        return m
    }

    /// The seed count shared by `runs` (their minimum).
    func seedCount(_ runs: [MethodRuns]) -> Int {
        runs.map(\.results.count).min() ?? 0
    }

    /// Per-sample test values of `quantity`, seeds 0..<k.
    func perSample(_ m: MethodRuns, _ q: SampleQuantity, seeds k: Int, train: Bool = false) throws -> [[Double]] {
        try (0..<k).map { i in
            let summary = train ? m.results[i].train : m.results[i].test
            guard let p = summary?.perSample else {
                throw MissingMeasurement(reason: "no per-sample \(q.symbol) on the \(train ? "training" : "test") samples "
                                         + "for \(PaperClaims.display(m.name))" + (k > 1 ? " (seed \(i + 1))" : ""))
            }
            return q.values(p).map(Double.init)
        }
    }

    /// Whole-test-set correctness, seeds 0..<k.
    func testCorrect(_ m: MethodRuns, seeds k: Int) throws -> [[Bool]] {
        try (0..<k).map { i in
            guard let flags = m.results[i].testCorrect else {
                throw MissingMeasurement(reason: "no per-sample test correctness for \(PaperClaims.display(m.name))")
            }
            return flags.values
        }
    }

    /// Per-sample robustness under ℓ2 PGD (or ℓ∞ FGSM) at ε (matched to 1e-6), seeds 0..<k.
    func robust(_ m: MethodRuns, fgsm: Bool, epsilon: Float, seeds k: Int) throws -> [[Bool]] {
        let attack = fgsm ? "ℓ∞ FGSM" : "ℓ2 PGD"
        return try (0..<k).map { i in
            let report = fgsm ? m.results[i].fgsm : m.results[i].pgd
            guard let point = report?.points.first(where: { abs($0.epsilon - epsilon) < 1e-6 }) else {
                throw MissingMeasurement(reason: "no \(attack) at ε = \(Self.epsilon(epsilon)) for \(PaperClaims.display(m.name))")
            }
            guard let flags = point.robust else {
                throw MissingMeasurement(reason: "no per-sample \(attack) robustness at ε = \(Self.epsilon(epsilon)) "
                                         + "for \(PaperClaims.display(m.name))")
            }
            return flags.values
        }
    }

    /// Checks that seed i of `a` and of `b` hold the same number of samples (else they cannot be paired).
    static func checkPaired<T>(_ a: [[T]], _ b: [[T]], _ nameA: String, _ nameB: String) throws {
        for (i, (x, y)) in zip(a, b).enumerated() where x.count != y.count {
            throw MissingMeasurement(reason: "cannot pair \(PaperClaims.display(nameA)) and \(PaperClaims.display(nameB)): "
                                     + "\(x.count) vs \(y.count) samples" + (a.count > 1 ? " in seed \(i + 1)" : ""))
        }
    }
}
