import Foundation

/// The ratio of two measurements taken in alternation, one pair per round, on a machine whose
/// load drifts between rounds. Beside the ratio of the two sides' best values (what the
/// benchmark lines report as the ratio), the per-round ratios show how far one run of the
/// benchmark can be trusted: a verdict such as "≥ 1.0×" holds in this run only if every round
/// clears it.
struct RoundRatios {
    /// One ratio per round, in round order.
    private(set) var values: [Double] = []

    mutating func append(_ ratio: Double) { values.append(ratio) }

    /// `, "<name>_rounds": [r₁, r₂, …]` with two decimals, or nothing when no round was recorded.
    func jsonField(_ name: String, decimals: Int = 2) -> String {
        guard !values.isEmpty else { return "" }
        let list = values.map { String(format: "%.\(decimals)f", $0) }.joined(separator: ", ")
        return ", \"\(name)_rounds\": [\(list)]"
    }
}
