import Foundation

/// Checks that a robustness evaluation is not fooling itself (the rules RobustBench applies,
/// Croce et al. 2021, §3; Carlini et al. 2019, "On evaluating adversarial robustness", §5):
/// a failed check usually means an attack that did not work (too few steps, masked gradients),
/// not a robust model. Comparisons on the same samples use McNemar's exact test at α = 0.05, so
/// noise alone does not fail a check.
public struct RobustnessSanityCheck: Codable, Sendable, Equatable {
    public var name: String
    public var passed: Bool
    public var detail: String

    /// "✓ name: detail" or "✗ FAILED name: detail".
    public var line: String { (passed ? "✓ " : "✗ FAILED ") + name + ": " + detail }

    static let alpha = 0.05

    /// Robust accuracy never exceeds clean accuracy, and does not rise significantly with ε
    /// (a sample robust at a larger ε but broken at a smaller one, more often than chance).
    public static func checks(_ report: RobustAccuracyReport) -> [RobustnessSanityCheck] {
        var out: [RobustnessSanityCheck] = []
        let above = report.points.filter { $0.robustCorrect > report.cleanCorrect }
        out.append(.init(name: "\(report.attack.rawValue): robust ≤ clean", passed: above.isEmpty,
                         detail: above.isEmpty ? "every ε" : "ε = \(above.map { "\($0.epsilon)" }.joined(separator: ", ")) above clean"))
        let sorted = report.points.sorted { $0.epsilon < $1.epsilon }
        var rises: [String] = []
        for (small, large) in zip(sorted, sorted.dropFirst()) {
            guard let a = small.robust?.values, let b = large.robust?.values, a.count == b.count else {
                if large.robustCorrect > small.robustCorrect { rises.append("\(small.epsilon) → \(large.epsilon) (no per-sample flags)") }
                continue
            }
            let test = Statistics.mcNemar(b, a)
            if test.difference > 0 && test.pValue < alpha {
                rises.append("\(small.epsilon) → \(large.epsilon) (+\(large.robustCorrect - small.robustCorrect) samples, p = \(String(format: "%.2g", test.pValue)))")
            }
        }
        out.append(.init(name: "\(report.attack.rawValue): non-increasing in ε", passed: rises.isEmpty,
                         detail: rises.isEmpty ? "\(sorted.count) radii" : "rises significantly at " + rises.joined(separator: "; ")))
        return out
    }

    /// At a radius large enough to reach any input (ℓ∞ 1, ℓ2 √d on [0, 1]^d) the attack must break
    /// (almost) everything: robust accuracy ≤ `limit`.
    public static func vanishes(_ point: RobustAccuracyPoint, limit: Double = 0.05) -> RobustnessSanityCheck {
        .init(name: "\(point.attack.rawValue): ≈ 0 at ε = \(point.epsilon)", passed: point.robustAccuracy <= limit,
              detail: String(format: "robust accuracy %.1f %% (limit %.0f %%)", 100 * point.robustAccuracy, 100 * limit))
    }

    /// A stronger attack (APGD, AutoAttack) must not leave significantly more samples robust
    /// than a weaker one (PGD) on the same samples and ε.
    public static func atMost(_ stronger: RobustAccuracyPoint, _ weaker: RobustAccuracyPoint) -> RobustnessSanityCheck {
        let name = "\(stronger.attack.rawValue) ≤ \(weaker.attack.rawValue) at ε = \(stronger.epsilon)"
        guard let a = stronger.robust?.values, let b = weaker.robust?.values, a.count == b.count else {
            return .init(name: name, passed: stronger.robustCorrect <= weaker.robustCorrect,
                         detail: "\(stronger.robustCorrect) vs \(weaker.robustCorrect) robust (no per-sample flags)")
        }
        let test = Statistics.mcNemar(a, b)
        let failed = test.difference > 0 && test.pValue < alpha
        return .init(name: name, passed: !failed,
                     detail: "\(stronger.robustCorrect) vs \(weaker.robustCorrect) robust of \(a.count); "
                        + "robust only under the stronger: \(zip(a, b).filter { $0 && !$1 }.count), p = \(String(format: "%.2g", test.pValue))")
    }

    /// A black-box attack (Square) must not break significantly more samples than the white-box
    /// attacks did on the same samples: if it does, the gradients are masked.
    public static func noGradientMasking(blackBox: RobustAccuracyPoint, whiteBox: RobustAccuracyPoint) -> RobustnessSanityCheck {
        var check = atMost(whiteBox, blackBox)
        check.name = "black-box \(blackBox.attack.rawValue) not stronger than white-box \(whiteBox.attack.rawValue) at ε = \(blackBox.epsilon)"
        if !check.passed { check.detail += " — gradient masking?" }
        return check
    }

    /// Certified robustness can never exceed empirical robustness: a certified sample that an
    /// attack broke means a wrong certificate (or bound).
    public static func certifiedBelowEmpirical(certified: CertifiedAccuracyReport.Point, empirical: RobustAccuracyPoint,
                                               certificate: String) -> RobustnessSanityCheck {
        let name = "certified (\(certificate)) ≤ empirical (\(empirical.attack.rawValue)) at ε = \(certified.epsilon)"
        guard let c = certified.flags?.values, let e = empirical.robust?.values, c.count == e.count else {
            return .init(name: name, passed: certified.certified <= empirical.robustCorrect,
                         detail: "\(certified.certified) certified, \(empirical.robustCorrect) robust")
        }
        let violations = zip(c, e).filter { $0 && !$1 }.count
        return .init(name: name, passed: violations == 0,
                     detail: violations == 0 ? "\(certified.certified) certified, \(empirical.robustCorrect) robust"
                        : "\(violations) certified samples were broken by the attack: the certificate is wrong")
    }
}
