import Foundation

/// A ``CurvatureBound`` as a record for reports and JSON: the value of the data-free bound of
/// paper Theorem 1 / eq. 6, `C_f ≤ Σᵢ nᵢ·Cᵢ·Πⱼ≤ᵢ Lipⱼ` (SPEC B8), its log, the layers that make it
/// undefined, and one row per non-linear layer with its share of the total.
///
/// JSON cannot hold ±∞ or NaN, and an undefined bound is +∞ (a ReLU or max-pool term has
/// curvature +∞). Every `Double` field of this record is therefore written as a JSON number when
/// finite and as the string `"inf"`, `"-inf"` or `"nan"` otherwise — the convention of the
/// toolkit's metric files (`convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
/// nan: "nan")`) — whatever the encoder's own strategy; decoding accepts both forms. ``value``
/// and ``logValue`` always hold a number in Swift (`.infinity` when undefined, `-.infinity` for
/// the log of an empty bound). `share` is nil (absent from the JSON) when the total is not a
/// finite positive number.
public struct CurvatureBoundSummary: Codable, Sendable, Equatable {
    /// One non-linear layer's row: `contribution = width · curvature · lipschitzProduct`.
    public struct TermRecord: Codable, Sendable, Equatable {
        /// Dotted layer path (`act1`, `features.2`).
        public var layer: String
        /// nᵢ, units per sample.
        public var width: Int
        /// Cᵢ, the layer's curvature bound (β for the softplus family; +∞ for ReLU and max-pool).
        public var curvature: Double
        /// Πⱼ≤ᵢ Lipⱼ, the Lipschitz constants up to and including this layer.
        public var lipschitzProduct: Double
        /// nᵢ·Cᵢ·Πⱼ≤ᵢ Lipⱼ.
        public var contribution: Double
        /// contribution / total; nil when the total is not finite and positive.
        public var share: Double?

        public init(layer: String, width: Int, curvature: Double, lipschitzProduct: Double, contribution: Double, share: Double?) {
            self.layer = layer
            self.width = width
            self.curvature = curvature
            self.lipschitzProduct = lipschitzProduct
            self.contribution = contribution
            self.share = share
        }

        enum CodingKeys: String, CodingKey { case layer, width, curvature, lipschitzProduct, contribution, share }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            layer = try c.decode(String.self, forKey: .layer)
            width = try c.decode(Int.self, forKey: .width)
            curvature = try c.decodeNonFinite(forKey: .curvature)
            lipschitzProduct = try c.decodeNonFinite(forKey: .lipschitzProduct)
            contribution = try c.decodeNonFinite(forKey: .contribution)
            if c.contains(.share), try !c.decodeNil(forKey: .share) {
                share = try c.decodeNonFinite(forKey: .share)
            } else {
                share = nil
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(layer, forKey: .layer)
            try c.encode(width, forKey: .width)
            try c.encodeNonFinite(curvature, forKey: .curvature)
            try c.encodeNonFinite(lipschitzProduct, forKey: .lipschitzProduct)
            try c.encodeNonFinite(contribution, forKey: .contribution)
            if let share { try c.encodeNonFinite(share, forKey: .share) }
        }
    }

    /// The bound Σᵢ nᵢ·Cᵢ·Πⱼ≤ᵢ Lipⱼ; +∞ when undefined.
    public var value: Double
    /// log of the bound (+∞ when undefined, −∞ for an empty bound).
    public var logValue: Double
    /// Paths of the layers whose curvature has no finite bound (max-pool, ReLU).
    public var undefinedBy: [String]
    /// One line: why the bound is undefined, or what dominates it.
    public var note: String
    /// The non-linear layers in forward order.
    public var terms: [TermRecord]

    /// Whether every layer has a finite curvature bound.
    public var isDefined: Bool { undefinedBy.isEmpty }

    public init(value: Double, logValue: Double, undefinedBy: [String], note: String, terms: [TermRecord]) {
        self.value = value
        self.logValue = logValue
        self.undefinedBy = undefinedBy
        self.note = note
        self.terms = terms
    }

    /// The record of `bound`.
    public init(_ bound: CurvatureBound) {
        let total = bound.value
        let finiteTotal = total.isFinite && total > 0
        terms = bound.terms.map {
            TermRecord(layer: $0.layer, width: $0.width, curvature: $0.curvature, lipschitzProduct: $0.lipschitzProduct,
                       contribution: $0.contribution, share: finiteTotal ? $0.contribution / total : nil)
        }
        value = total
        logValue = bound.logValue
        undefinedBy = bound.undefinedBy
        if !bound.isDefined {
            note = "undefined: " + bound.undefinedReasons.joined(separator: "; ")
        } else if let top = terms.max(by: { ($0.share ?? 0) < ($1.share ?? 0) }), let share = top.share {
            note = "finite: \(terms.count) non-linear layers (Theorem 1, eq. 6); largest share \(top.layer) "
                 + "(\(Self.format(100 * share)) %)"
        } else {
            note = "finite: no non-linear layer"
        }
    }

    enum CodingKeys: String, CodingKey { case value, logValue, undefinedBy, note, terms }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decodeNonFinite(forKey: .value)
        logValue = try c.decodeNonFinite(forKey: .logValue)
        undefinedBy = try c.decode([String].self, forKey: .undefinedBy)
        note = try c.decode(String.self, forKey: .note)
        terms = try c.decode([TermRecord].self, forKey: .terms)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNonFinite(value, forKey: .value)
        try c.encodeNonFinite(logValue, forKey: .logValue)
        try c.encode(undefinedBy, forKey: .undefinedBy)
        try c.encode(note, forKey: .note)
        try c.encode(terms, forKey: .terms)
    }

    /// The terms as a Markdown table, one row per non-linear layer and a total row.
    public var markdownTable: String {
        var s = "| layer | width nᵢ | curvature bound Cᵢ (β) | Π Lip | contribution | share |\n"
        s += "|---|---:|---:|---:|---:|---:|\n"
        for t in terms {
            s += "| \(t.layer) | \(t.width) | \(Self.format(t.curvature)) | \(Self.format(t.lipschitzProduct)) | "
               + "\(Self.format(t.contribution)) | \(t.share.map { Self.format(100 * $0) + " %" } ?? "—") |\n"
        }
        s += "| **total** | | | | \(Self.format(value)) | \(value.isFinite && value > 0 ? "100 %" : "—") |\n"
        return s
    }

    /// Four significant digits; ∞ for infinities.
    static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "∞" : "−∞" }
        return String(format: "%.4g", x)
    }
}

extension CurvatureBound {
    /// The bound as a record for reports and JSON (values, log, undefined layers, per-layer shares).
    public var summary: CurvatureBoundSummary { CurvatureBoundSummary(self) }
}

extension KeyedEncodingContainer {
    /// A number when finite, else "inf", "-inf" or "nan" (JSON has no non-finite numbers).
    mutating func encodeNonFinite(_ x: Double, forKey key: Key) throws {
        if x.isFinite { try encode(x, forKey: key) }
        else { try encode(x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"), forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// A number, or one of the strings "inf", "-inf", "nan" (also "Infinity", "-Infinity", "NaN").
    func decodeNonFinite(forKey key: Key) throws -> Double {
        if let x = try? decode(Double.self, forKey: key) { return x }
        let s = try decode(String.self, forKey: key)
        switch s {
        case "inf", "+inf", "Infinity", "+Infinity": return .infinity
        case "-inf", "-Infinity": return -.infinity
        case "nan", "NaN": return .nan
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a number: \(s)")
        }
    }
}
