/// One yes/no outcome per evaluated sample, in dataset order (correct or not, robust or not):
/// the record that paired tests (McNemar) need. Encoded in JSON as one string of `0`s and `1`s,
/// so 10,000 samples cost 10 kB rather than an array of 10,000 booleans.
public struct SampleFlags: Sendable, Equatable, Codable {
    public var values: [Bool]

    public init(_ values: [Bool]) { self.values = values }

    public var count: Int { values.count }
    /// How many samples are flagged.
    public var trueCount: Int { values.reduce(0) { $0 + ($1 ? 1 : 0) } }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        var values: [Bool] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0"): values.append(false)
            case UInt8(ascii: "1"): values.append(true)
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "per-sample flags hold a character other than 0 and 1"))
            }
        }
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(decoding: values.map { $0 ? UInt8(ascii: "1") : UInt8(ascii: "0") }, as: UTF8.self))
    }
}
