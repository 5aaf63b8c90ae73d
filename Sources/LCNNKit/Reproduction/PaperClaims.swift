import Foundation

/// Everything measured for one method (run name such as "standard", "lcnn", ...), one entry per
/// seed, seeds in the same order for every method (seed k of every method measured on the same
/// samples).
public struct MethodRuns: Sendable {
    public var name: String
    /// One evaluation per seed.
    public var results: [EvaluationResult]
    /// Per seed, per epoch: training milliseconds per optimiser step.
    public var millisecondsPerStep: [[Double]]

    public init(name: String, results: [EvaluationResult], millisecondsPerStep: [[Double]]) {
        self.name = name
        self.results = results
        self.millisecondsPerStep = millisecondsPerStep
    }
}

/// The thresholds and bootstrap settings of ``PaperClaims/check(_:settings:)``.
public struct ClaimSettings: Sendable, Equatable {
    /// Significance level of every test; intervals are at level 1 − alpha.
    public var alpha = 0.05
    /// "Within 2 points": accuracy margin as a fraction (0.02).
    public var accuracyMargin = 0.02
    /// "Far smaller" data-free bound: at least this factor.
    public var boundFactor = 10.0
    /// The ℓ2-PGD ε of the robustness claims: the calibrated analogue of the paper's 0.1 (SPEC S2).
    public var l2Epsilon: Float
    /// The ℓ∞-FGSM ε of the swish claim: the calibrated analogue of the paper's 0.1.
    public var linfEpsilon: Float
    /// Bootstrap resamples and the seed of their generator.
    public var resamples = 2000
    public var seed: UInt64 = 0

    public init(l2Epsilon: Float, linfEpsilon: Float, alpha: Double = 0.05, accuracyMargin: Double = 0.02,
                boundFactor: Double = 10, resamples: Int = 2000, seed: UInt64 = 0) {
        self.l2Epsilon = l2Epsilon
        self.linfEpsilon = linfEpsilon
        self.alpha = alpha
        self.accuracyMargin = accuracyMargin
        self.boundFactor = boundFactor
        self.resamples = resamples
        self.seed = seed
    }
}

/// One claim of the paper checked against the measured numbers (SPEC S3–S4).
public struct ClaimCheck: Sendable, Equatable {
    /// Where the paper (or `000`) makes it.
    public var source: String
    /// The claim, as the paper states it (with the paper's numbers where it gives them).
    public var claim: String
    /// The numbers measured, in words: means or accuracies with their intervals (or, when not
    /// measured, why not).
    public var measured: String
    /// Borne out / contradicted at α, inconclusive, or not measured.
    public var verdict: Verdict
    /// The test behind the verdict with its effect, interval and p-value, e.g.
    /// "paired bootstrap, LCNN − Standard = −3.21 [−3.9, −2.6], p < 1e-4, n = 1000".
    public var test: String
    /// With two or more seeds: in how many seeds the per-seed point estimates go the claimed way,
    /// e.g. "direction holds in 2 of 2 seeds"; nil with one seed or when not measured.
    public var seedAgreement: String?

    public init(source: String, claim: String, measured: String, verdict: Verdict, test: String,
                seedAgreement: String? = nil) {
        self.source = source
        self.claim = claim
        self.measured = measured
        self.verdict = verdict
        self.test = test
        self.seedAgreement = seedAgreement
    }
}

/// The paper's claims (§5, Tables 1–3, and the conclusion of the MNIST reproduction `000`) as
/// statistical tests on per-sample measurements (SPEC S3–S4). Each verdict is computed from the
/// data; none is fixed in advance:
/// - directional claims ("lower", "more robust", "costs more"): borne out when the test is
///   significant at α in the claimed direction, contradicted when significant the other way,
///   inconclusive otherwise;
/// - bounded claims ("at most 2 points below", "at most 1.6×"): borne out when the whole
///   (1 − α) interval lies within the bound, contradicted when it lies wholly beyond it;
/// - claims with several parts ("lowest of all", "than LCNN and than GradReg"): every part
///   borne out, contradicted if any part is.
/// Seeds are pooled for paired tests: seed k of A is paired with seed k of B, over the smaller
/// seed count of the methods in the claim.
public enum PaperClaims {
    /// Accuracy within this many percentage points counts as "within 1–2 points" (Table 1).
    public static let accuracyTolerance = 2.0
    /// "Far smaller" data-free bound: at least this factor (default of ``ClaimSettings/boundFactor``).
    public static let boundFactor = 10.0
    /// "LCNN costs at most 1.6× Standard per step" (§5.1: ~160 s vs ~100 s).
    public static let costFactor = 1.6

    /// The runs of the paper's Table 1.
    public static let paperMethods: Set<String> = ["standard", "lcnn", "gradreg", "lcnn+gradreg", "cure", "softplus-wd", "adversarial"]
    /// ``paperMethods`` in the order of the paper's tables.
    static let paperMethodOrder = ["standard", "lcnn", "gradreg", "lcnn+gradreg", "cure", "softplus-wd", "adversarial"]

    static func pct(_ x: Double) -> String { x.isNaN ? "n/a" : String(format: "%.2f%%", 100 * x) }
    static func num(_ x: Double) -> String { x.isNaN ? "n/a" : String(format: "%.4g", x) }

    /// Checks every claim against `methods` (keyed by run name: `standard`, `lcnn`, `gradreg`,
    /// `lcnn+gradreg`, `cure`, `softplus-wd`, `adversarial`, `lcnn-swish`). Always 14 checks, in
    /// the order of the paper.
    public static func check(_ methods: [String: MethodRuns], settings: ClaimSettings) -> [ClaimCheck] {
        ClaimChecker(methods: methods, settings: settings).run()
    }

    /// "5 borne out, 1 contradicted, 7 inconclusive, 1 not measured" (every verdict, zeros too).
    public static func summary(_ checks: [ClaimCheck]) -> String {
        Verdict.allCases.map { v in "\(checks.filter { $0.verdict == v }.count) \(v.rawValue)" }
            .joined(separator: ", ")
    }

    /// The claims as a Markdown table; contradicted verdicts in bold. The seed agreement, when
    /// there is one, follows the test.
    public static func markdown(_ checks: [ClaimCheck]) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var rows = ["| source | the paper's claim | measured (mean or accuracy with 95 % interval) | test | verdict |",
                    "|---|---|---|---|---|"]
        for c in checks {
            let verdict = c.verdict == .contradicted ? "**\(c.verdict.rawValue)**" : c.verdict.rawValue
            let test = c.test + (c.seedAgreement.map { "; \($0)" } ?? "")
            rows.append("| \(cell(c.source)) | \(cell(c.claim)) | \(cell(c.measured)) | \(cell(test)) | \(verdict) |")
        }
        return rows.joined(separator: "\n")
    }

    /// How a run is named in the report.
    static func display(_ name: String) -> String {
        switch name {
        case "standard": return "Standard"
        case "lcnn": return "LCNN"
        case "gradreg": return "GradReg"
        case "lcnn+gradreg": return "LCNN + GradReg"
        case "cure": return "CURE"
        case "softplus-wd": return "Softplus + WD"
        case "adversarial": return "Adversarial"
        case "lcnn-swish": return "LCNN (swish)"
        default: return name
        }
    }
}
