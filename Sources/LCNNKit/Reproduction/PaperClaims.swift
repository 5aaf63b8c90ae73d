import Foundation

/// The numbers of one run that the paper's claims are checked against (taken from an
/// ``EvaluationResult``; nil where not measured).
public struct RunMeasurements: Sendable, Equatable {
    /// Test accuracy in [0, 1].
    public var accuracy: Double
    /// Means over the test samples of G1, G2, G3.
    public var gradientNorm: Double?
    public var hessianNorm: Double?
    public var curvature: Double?
    /// ℓ2-PGD and ℓ∞-FGSM robust accuracy by ε.
    public var pgd: [Float: Double]
    public var fgsm: [Float: Double]
    public var secondsPerEpoch: Double?
    public var logBound: Double?
    /// Train–test discrepancies of G1, G2, G3 (Table 3).
    public var discrepancy: (gradient: Double, hessian: Double, curvature: Double)?

    public init(accuracy: Double, gradientNorm: Double? = nil, hessianNorm: Double? = nil, curvature: Double? = nil,
                pgd: [Float: Double] = [:], fgsm: [Float: Double] = [:], secondsPerEpoch: Double? = nil, logBound: Double? = nil,
                discrepancy: (gradient: Double, hessian: Double, curvature: Double)? = nil) {
        self.accuracy = accuracy
        self.gradientNorm = gradientNorm
        self.hessianNorm = hessianNorm
        self.curvature = curvature
        self.pgd = pgd
        self.fgsm = fgsm
        self.secondsPerEpoch = secondsPerEpoch
        self.logBound = logBound
        self.discrepancy = discrepancy
    }

    public init(_ r: EvaluationResult) {
        self.init(accuracy: r.testAccuracy, gradientNorm: r.test?.gradientNorm.mean, hessianNorm: r.test?.spectralNorm.mean,
                  curvature: r.test?.curvature.mean,
                  pgd: Dictionary(r.pgd?.points.map { ($0.epsilon, $0.robustAccuracy) } ?? [], uniquingKeysWith: { a, _ in a }),
                  fgsm: Dictionary(r.fgsm?.points.map { ($0.epsilon, $0.robustAccuracy) } ?? [], uniquingKeysWith: { a, _ in a }),
                  secondsPerEpoch: r.trainSecondsPerEpoch, logBound: r.logCurvatureBound.isNaN ? nil : r.logCurvatureBound,
                  discrepancy: r.discrepancy.map { ($0.gradientNorm, $0.spectralNorm, $0.curvature) })
    }

    /// Robust accuracy at ε (matched to 1e-6).
    func robust(_ table: [Float: Double], _ epsilon: Float) -> Double? {
        table.first(where: { abs($0.key - epsilon) < 1e-6 })?.value
    }

    public static func == (a: RunMeasurements, b: RunMeasurements) -> Bool {
        a.accuracy == b.accuracy && a.gradientNorm == b.gradientNorm && a.hessianNorm == b.hessianNorm && a.curvature == b.curvature
            && a.pgd == b.pgd && a.fgsm == b.fgsm && a.secondsPerEpoch == b.secondsPerEpoch && a.logBound == b.logBound
            && a.discrepancy?.gradient == b.discrepancy?.gradient && a.discrepancy?.hessian == b.discrepancy?.hessian
            && a.discrepancy?.curvature == b.discrepancy?.curvature
    }
}

/// Whether a run's numbers bear a claim of the paper out.
public enum ClaimVerdict: String, Sendable, Codable {
    case bornOut = "borne out"
    case notBornOut = "NOT borne out"
    /// A run or measurement the claim needs is missing (e.g. `--only` left it out).
    case notMeasured = "not measured"
}

/// One claim of the paper checked against the measured numbers.
public struct ClaimCheck: Sendable, Equatable {
    /// Where the paper (or `000`) makes it.
    public var source: String
    /// The claim, as the paper states it (with the paper's numbers where it gives them).
    public var claim: String
    /// The numbers this run measured, in words.
    public var measured: String
    public var verdict: ClaimVerdict
}

/// The paper's claims (§5, Tables 1–3, and the conclusion of the MNIST reproduction `000`) as
/// tests on measured numbers. Each verdict is computed from the numbers; none is fixed in advance.
public enum PaperClaims {
    /// Accuracy within this many percentage points counts as "within 1–2 points" (Table 1).
    public static let accuracyTolerance = 2.0
    /// "Far smaller" data-free bound: at least this factor.
    public static let boundFactor = 10.0

    /// The runs of the paper's Table 1.
    public static let paperMethods: Set<String> = ["standard", "lcnn", "gradreg", "lcnn+gradreg", "cure", "softplus-wd", "adversarial"]

    static func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
    static func num(_ x: Double) -> String { String(format: "%.4g", x) }

    /// Checks every claim against `runs` (keyed by run name: `standard`, `lcnn`, `gradreg`,
    /// `lcnn+gradreg`, `cure`, `softplus-wd`, `adversarial`, `lcnn-swish`).
    public static func check(_ runs: [String: RunMeasurements]) -> [ClaimCheck] {
        var checks: [ClaimCheck] = []
        func add(_ source: String, _ claim: String, _ body: () -> (String, Bool)?) {
            if let (measured, holds) = body() {
                checks.append(ClaimCheck(source: source, claim: claim, measured: measured, verdict: holds ? .bornOut : .notBornOut))
            } else {
                checks.append(ClaimCheck(source: source, claim: claim, measured: "—", verdict: .notMeasured))
            }
        }
        let std = runs["standard"], lcnn = runs["lcnn"], grad = runs["gradreg"], both = runs["lcnn+gradreg"]
        let adv = runs["adversarial"], swish = runs["lcnn-swish"]

        add("§5.1, Table 1", "LCNN has a lower mean curvature C(x) than Standard (paper: 69.50 vs 270.89)") {
            guard let a = lcnn?.curvature, let b = std?.curvature else { return nil }
            return ("LCNN \(num(a)), Standard \(num(b))", a < b)
        }
        add("§5.1, Table 1", "LCNN has a lower mean Hessian norm ‖∇²ₓℓ‖₂ than Standard (paper: 1143.62 vs 6061.96)") {
            guard let a = lcnn?.hessianNorm, let b = std?.hessianNorm else { return nil }
            return ("LCNN \(num(a)), Standard \(num(b))", a < b)
        }
        add("§5.1, §6", "LCNN + GradReg has the lowest mean curvature of all methods (paper: 25.30, next 63.79)") {
            guard let a = both?.curvature else { return nil }
            // Among the paper's seven methods (the swish variant of `000` is not one of them), all measured.
            let others = runs.filter { $0.key != "lcnn+gradreg" && paperMethods.contains($0.key) }
                .compactMap { k, v in v.curvature.map { (k, $0) } }
            guard others.count == paperMethods.count - 1, let lowest = others.min(by: { $0.1 < $1.1 }) else { return nil }
            return ("LCNN + GradReg \(num(a)); lowest other: \(lowest.0) \(num(lowest.1))", a < lowest.1)
        }
        add("§5.1, Table 1", "GradReg has a lower mean gradient norm than Standard (paper: 8.86 vs 19.66)") {
            guard let a = grad?.gradientNorm, let b = std?.gradientNorm else { return nil }
            return ("GradReg \(num(a)), Standard \(num(b))", a < b)
        }
        add("§5.1, Table 1", "LCNN's accuracy is at most \(Int(accuracyTolerance)) points below Standard's (paper: 77.30% vs 77.42%)") {
            guard let a = lcnn?.accuracy, let b = std?.accuracy else { return nil }
            return ("LCNN \(pct(a)), Standard \(pct(b)) (difference \(String(format: "%+.2f", 100 * (a - b))) points)",
                    100 * (b - a) <= accuracyTolerance)
        }
        add("§5.3, Table 2", "LCNN is more robust to ℓ2 PGD at ε = 0.1 than Standard (paper: 39.72% vs 37.55%)") {
            guard let a = lcnn.flatMap({ $0.robust($0.pgd, 0.1) }), let b = std.flatMap({ $0.robust($0.pgd, 0.1) }) else { return nil }
            return ("LCNN \(pct(a)), Standard \(pct(b))", a > b)
        }
        add("§5.3, Table 2", "LCNN + GradReg is more robust to ℓ2 PGD at ε = 0.1 than LCNN and than GradReg (paper: 63.36% vs 39.72% and 61.06%)") {
            guard let a = both.flatMap({ $0.robust($0.pgd, 0.1) }), let b = lcnn.flatMap({ $0.robust($0.pgd, 0.1) }),
                  let c = grad.flatMap({ $0.robust($0.pgd, 0.1) }) else { return nil }
            return ("LCNN + GradReg \(pct(a)), LCNN \(pct(b)), GradReg \(pct(c))", a > b && a > c)
        }
        add("§5.3, Table 2", "LCNN + GradReg is on par with adversarial training under ℓ2 PGD at ε = 0.1, within \(Int(accuracyTolerance)) points or better (paper: 63.36% vs 64.70%)") {
            guard let a = both.flatMap({ $0.robust($0.pgd, 0.1) }), let b = adv.flatMap({ $0.robust($0.pgd, 0.1) }) else { return nil }
            return ("LCNN + GradReg \(pct(a)), adversarial \(pct(b))", 100 * (b - a) <= accuracyTolerance)
        }
        add("§5.4, Table 3", "The curvature's train–test discrepancy is smaller than the gradient norm's and the Hessian norm's, for every method of the paper (paper: 0.017–0.146 vs 10.4–21.8)") {
            let rows = runs.filter { paperMethods.contains($0.key) }.compactMap { k, v in v.discrepancy.map { (k, $0) } }
                .sorted { $0.0 < $1.0 }
            guard !rows.isEmpty else { return nil }
            let failing = rows.filter { !($0.1.curvature < $0.1.gradient && $0.1.curvature < $0.1.hessian) }.map(\.0)
            let text = rows.map { "\($0.0): \(num($0.1.curvature)) vs \(num($0.1.gradient)), \(num($0.1.hessian))" }.joined(separator: "; ")
            return (text + (failing.isEmpty ? "" : " — fails for \(failing.joined(separator: ", "))"), failing.isEmpty)
        }
        add("§5.1", "GradReg costs more per epoch than LCNN (paper: ~270 s vs ~160 s)") {
            guard let a = grad?.secondsPerEpoch, let b = lcnn?.secondsPerEpoch else { return nil }
            return ("GradReg \(num(a)) s, LCNN \(num(b)) s", a > b)
        }
        add("§5.1", "LCNN costs at most 1.6× Standard per epoch (paper: ~160 s vs ~100 s)") {
            guard let a = lcnn?.secondsPerEpoch, let b = std?.secondsPerEpoch, b > 0 else { return nil }
            return ("\(String(format: "%.2f", a / b))×", a / b <= 1.6)
        }
        add("§4, Theorem 1", "LCNN's data-free curvature bound is far (≥ \(Int(boundFactor))×) smaller than Standard's") {
            guard let a = lcnn?.logBound, let b = std?.logBound, a.isFinite, b.isFinite else { return nil }
            return ("log bound: LCNN \(num(a)), Standard \(num(b)) (ratio \(String(format: "%.3g", Foundation.exp(b - a)))×)",
                    b - a >= Foundation.log(boundFactor))
        }
        add("`000`, Tables 5–6", "Centered softplus gives the LCNN a lower mean curvature than parametric swish") {
            guard let a = lcnn?.curvature, let b = swish?.curvature else { return nil }
            return ("centered softplus \(num(a)), swish \(num(b))", a < b)
        }
        add("`000`, Tables 7–8, §8", "The LCNN with centered softplus is more robust than with parametric swish (ℓ2 PGD and FGSM at ε = 0.1)") {
            guard let l = lcnn, let s = swish, let a = l.robust(l.pgd, 0.1), let b = s.robust(s.pgd, 0.1),
                  let c = l.robust(l.fgsm, 0.1), let d = s.robust(s.fgsm, 0.1) else { return nil }
            return ("PGD: softplus \(pct(a)), swish \(pct(b)); FGSM: softplus \(pct(c)), swish \(pct(d))", a > b && c > d)
        }
        return checks
    }

    /// The claims as a Markdown table.
    public static func markdown(_ checks: [ClaimCheck]) -> String {
        var rows = ["| source | the paper's claim | this run | verdict |", "|---|---|---|---|"]
        for c in checks {
            let verdict = c.verdict == .notBornOut ? "**\(c.verdict.rawValue)**" : c.verdict.rawValue
            rows.append("| \(c.source) | \(c.claim) | \(c.measured) | \(verdict) |")
        }
        return rows.joined(separator: "\n")
    }
}
