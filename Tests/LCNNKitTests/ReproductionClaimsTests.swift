import Foundation
import LCNNKit
import Testing

/// The paper's claims are verdicts computed from the numbers, never fixed in advance.
@Suite("Reproduction claims")
struct ReproductionClaimsTests {
    /// Numbers shaped like the paper's Tables 1–2 (every claim holds).
    static var paperLike: [String: RunMeasurements] {
        func m(_ acc: Double, _ g: Double, _ h: Double, _ c: Double, pgd: Double, fgsm: Double, s: Double, bound: Double) -> RunMeasurements {
            RunMeasurements(accuracy: acc, gradientNorm: g, hessianNorm: h, curvature: c, pgd: [0.05: pgd + 0.1, 0.1: pgd],
                            fgsm: [0.1: fgsm], secondsPerEpoch: s, logBound: bound, discrepancy: (10, 11, 0.05))
        }
        return [
            "standard": m(0.7742, 19.66, 6061.96, 270.89, pgd: 0.3755, fgsm: 0.30, s: 100, bound: 40),
            "lcnn": m(0.7730, 22.04, 1143.62, 69.50, pgd: 0.3972, fgsm: 0.33, s: 160, bound: 12),
            "gradreg": m(0.7720, 8.86, 776.56, 89.47, pgd: 0.6106, fgsm: 0.5, s: 270, bound: 38),
            "lcnn+gradreg": m(0.7729, 9.87, 154.36, 25.30, pgd: 0.6336, fgsm: 0.55, s: 350, bound: 11),
            "cure": m(0.7648, 8.86, 979.45, 116.31, pgd: 0.6128, fgsm: 0.5, s: 500, bound: 39),
            "softplus-wd": m(0.7744, 18.08, 1052.84, 70.39, pgd: 0.3804, fgsm: 0.3, s: 100, bound: 20),
            "adversarial": m(0.7696, 7.99, 501.43, 63.79, pgd: 0.6470, fgsm: 0.6, s: 500, bound: 39),
            "lcnn-swish": m(0.7700, 23, 1500, 80, pgd: 0.35, fgsm: 0.25, s: 165, bound: 13),
        ]
    }

    static func verdict(_ checks: [ClaimCheck], _ fragment: String) throws -> ClaimVerdict {
        try #require(checks.first { $0.claim.contains(fragment) }).verdict
    }

    @Test("with the paper's own numbers every claim is borne out")
    func paperNumbers() throws {
        let checks = PaperClaims.check(Self.paperLike)
        #expect(checks.count >= 12)
        for c in checks { #expect(c.verdict == .bornOut, "\(c.claim): \(c.measured)") }
    }

    @Test("LCNN curvature below Standard's: borne out; reversed: NOT borne out")
    func curvatureClaim() throws {
        var runs = Self.paperLike
        #expect(try Self.verdict(PaperClaims.check(runs), "lower mean curvature C(x) than Standard") == .bornOut)
        runs["lcnn"]?.curvature = 300
        let checks = PaperClaims.check(runs)
        #expect(try Self.verdict(checks, "lower mean curvature C(x) than Standard") == .notBornOut)
        #expect(PaperClaims.markdown(checks).contains("**NOT borne out**"))
        #expect(try #require(checks.first { $0.claim.contains("lower mean curvature C(x)") }).measured.contains("LCNN 300"))
    }

    @Test("each claim turns with its numbers")
    func claimsTurn() throws {
        var runs = Self.paperLike
        runs["lcnn"]?.accuracy = 0.70                       // 7 points below Standard
        runs["lcnn"]?.pgd[0.1] = 0.30                       // less robust than Standard
        runs["gradreg"]?.secondsPerEpoch = 120              // cheaper than LCNN
        runs["lcnn"]?.logBound = 39                         // bound barely below Standard's
        runs["adversarial"]?.curvature = 20                 // below LCNN + GradReg
        runs["lcnn-swish"]?.curvature = 50                  // swish below centered softplus
        runs["standard"]?.discrepancy = (0.1, 0.1, 0.5)     // curvature discrepancy largest
        let checks = PaperClaims.check(runs)
        #expect(try Self.verdict(checks, "accuracy is at most") == .notBornOut)
        #expect(try Self.verdict(checks, "LCNN is more robust to ℓ2 PGD") == .notBornOut)
        #expect(try Self.verdict(checks, "GradReg costs more per epoch than LCNN") == .notBornOut)
        #expect(try Self.verdict(checks, "data-free curvature bound") == .notBornOut)
        #expect(try Self.verdict(checks, "lowest mean curvature") == .notBornOut)
        #expect(try Self.verdict(checks, "lower mean curvature than parametric swish") == .notBornOut)
        #expect(try Self.verdict(checks, "train–test discrepancy") == .notBornOut)
        #expect(try Self.verdict(checks, "GradReg has a lower mean gradient norm") == .bornOut)
    }

    @Test("claims whose runs are missing are 'not measured'")
    func missingRuns() throws {
        let checks = PaperClaims.check(["standard": Self.paperLike["standard"]!])
        #expect(checks.allSatisfy { $0.verdict == .notMeasured || $0.claim.contains("train–test") })
    }
}
