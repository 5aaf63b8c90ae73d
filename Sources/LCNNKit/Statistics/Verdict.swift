import Foundation

/// The three-way verdict of a claim (plus not measured).
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case bornOut = "borne out", contradicted = "contradicted", inconclusive = "inconclusive", notMeasured = "not measured"
}

/// The side a claim takes: a > b (`greater`) or a < b (`less`).
public enum ClaimDirection: String, Codable, Sendable {
    case greater, less
}

extension Verdict {
    /// Directional claim "a > b" (or "<"): borne out when p < alpha and the difference lies on
    /// the claimed side of `null`; contradicted when p < alpha on the other side; inconclusive
    /// otherwise (also when any field is NaN, or the difference equals `null`).
    public static func directional(_ c: Comparison, claimed: ClaimDirection, alpha: Double = 0.05) -> Verdict {
        guard !c.hasNaN, !alpha.isNaN, c.pValue < alpha, c.difference != c.null else { return .inconclusive }
        let side: ClaimDirection = c.difference > c.null ? .greater : .less
        return side == claimed ? .bornOut : .contradicted
    }

    /// Non-inferiority / "at most": claim "difference ≤ margin" (claimed .less) or
    /// "difference ≥ margin" (.greater). Borne out when the whole interval lies on the claimed
    /// side (upper ≤ margin, resp. lower ≥ margin), contradicted when it lies wholly on the
    /// other side (lower > margin, resp. upper < margin), inconclusive when it straddles the
    /// margin or a bound is NaN. E.g. "LCNN's accuracy is at most 2 points below Standard's":
    /// difference = std − lcnn, margin 0.02, claimed .less.
    public static func bounded(_ c: Comparison, margin: Double, claimed: ClaimDirection) -> Verdict {
        let lower = c.interval.lower
        let upper = c.interval.upper
        guard !lower.isNaN, !upper.isNaN, !margin.isNaN else { return .inconclusive }
        switch claimed {
        case .less:
            if upper <= margin { return .bornOut }
            if lower > margin { return .contradicted }
        case .greater:
            if lower >= margin { return .bornOut }
            if upper < margin { return .contradicted }
        }
        return .inconclusive
    }

    /// Several comparisons that must all hold (e.g. "lowest of all methods": a < each other):
    /// contradicted if any is contradicted, borne out if every one is borne out, not measured
    /// if the list is empty or every one is not measured, else inconclusive.
    public static func all(_ verdicts: [Verdict]) -> Verdict {
        if verdicts.contains(.contradicted) { return .contradicted }
        if verdicts.allSatisfy({ $0 == .notMeasured }) { return .notMeasured }
        if verdicts.allSatisfy({ $0 == .bornOut }) { return .bornOut }
        return .inconclusive
    }
}
