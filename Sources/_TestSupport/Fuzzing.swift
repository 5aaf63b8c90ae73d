import Foundation
import TensorCore

/// Seeded mutation of file contents for the parser fuzz tests (`swift test`, ≥ 2,000 inputs per
/// format) and the long run (`scripts/fuzz --iterations N`).
///
/// `LCNN_FUZZ_ITERATIONS` sets the number of inputs per format (default 2,000) and
/// `LCNN_FUZZ_SEED` the seed (default 0), so a long run can be split over processes, and a crash
/// reproduced from the seed its process printed.
public enum Fuzzing {
    /// Inputs per format.
    public static var iterations: Int {
        ProcessInfo.processInfo.environment["LCNN_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? 2_000
    }

    /// The base seed of this process's fuzz tests.
    public static var seed: UInt64 {
        ProcessInfo.processInfo.environment["LCNN_FUZZ_SEED"].flatMap(UInt64.init) ?? 0
    }

    /// A generator for one format: `seed` mixed with a per-format salt.
    public static func generator(_ format: String) -> SeededGenerator {
        SeededGenerator(seed: format.utf8.reduce(seed &* 0x9E37_79B9_7F4A_7C15) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 })
    }

    /// The line `scripts/fuzz` sums: "fuzz <format>: <inputs> inputs, <accepted> accepted, <rejected> rejected".
    public static func report(_ format: String, inputs: Int, accepted: Int) {
        print("fuzz \(format): \(inputs) inputs, \(accepted) accepted, \(inputs - accepted) rejected")
    }

    /// Values that break size and offset arithmetic, and non-finite payloads.
    public static let hostileIntegers: [UInt64] = [
        0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, 1 << 40, 1 << 60, UInt64(Int64.max), UInt64.max,
    ]
    public static let hostileFloats: [Float] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -0.0, .leastNonzeroMagnitude]

    /// One random mutation of `bytes`: bit flips, a truncation, a splice of another part of the
    /// input (or of `donor`), a deletion, junk appended, a 4- or 8-byte little- or big-endian word
    /// overwritten with a hostile size, or a float payload overwritten with NaN/±∞.
    public static func mutate(_ bytes: [UInt8], donor: [UInt8] = [], _ g: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        func position() -> Int { g.nextInt(below: max(b.count, 1)) }
        switch g.nextInt(below: 8) {
        case 0:
            for _ in 0...g.nextInt(below: 4) where !b.isEmpty { b[position()] ^= UInt8(1 << g.nextInt(below: 8)) }
        case 1:
            b = Array(b.prefix(g.nextInt(below: b.count + 1)))
        case 2:
            let source = donor.isEmpty || g.nextInt(below: 2) == 0 ? b : donor
            guard !source.isEmpty else { break }
            let from = g.nextInt(below: source.count)
            let piece = source[from..<min(source.count, from + 1 + g.nextInt(below: 64))]
            let at = g.nextInt(below: b.count + 1)
            if g.nextInt(below: 2) == 0 {
                b.insert(contentsOf: piece, at: at)
            } else {
                b.replaceSubrange(at..<min(b.count, at + piece.count), with: piece)
            }
        case 3:
            if b.count > 1 {
                let start = g.nextInt(below: b.count - 1)
                b.removeSubrange(start..<min(b.count, start + 1 + g.nextInt(below: 32)))
            }
        case 4:
            b += (0..<(1 + g.nextInt(below: 48))).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        case 5, 6:
            let value = hostileIntegers[g.nextInt(below: hostileIntegers.count)] &+ UInt64(g.nextInt(below: 3)) &- 1
            let width = g.nextInt(below: 2) == 0 ? 4 : 8
            var word = (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
            if g.nextInt(below: 2) == 0 { word.reverse() }
            // Header words sit at the start: aim there half of the time.
            let at = g.nextInt(below: 2) == 0 ? 4 * g.nextInt(below: 4) : position()
            if at < b.count { b.replaceSubrange(at..<min(b.count, at + width), with: word) }
        default:
            let f = hostileFloats[g.nextInt(below: hostileFloats.count)].bitPattern
            let at = b.count >= 4 ? (b.count - 4) / 4 * 4 - 4 * g.nextInt(below: max(1, b.count / 4)) : 0
            if at >= 0 && at + 4 <= b.count {
                b.replaceSubrange(at..<at + 4, with: (0..<4).map { UInt8(truncatingIfNeeded: f >> (8 * UInt32($0))) })
            }
        }
        return b
    }

    /// One random mutation of JSON text that keeps it mostly JSON-shaped: a number replaced by a
    /// hostile one (huge, negative, fractional, NaN-spelled), a string value replaced, a key
    /// renamed, a value deleted, brackets unbalanced, or a byte-level mutation.
    public static func mutateJSON(_ text: String, _ g: inout SeededGenerator) -> String {
        let numbers = ["1e308", "-1", "0", "-0", "9223372036854775807", "18446744073709551616", "1152921504606846976",
                       "0.5", "\"nan\"", "\"inf\"", "null", "true", "[]", "{}", "\"\"", "1e-320", "4294967296"]
        let strings = ["\"\"", "\"standard\"", "\"lcnn\"", "\"moons\"", "\"mlp\"", "\"F32\"", "\"nan\"", "\"\\u0000\"", "1", "null"]
        var chars = Array(text.unicodeScalars)
        func spans(where isStart: (Unicode.Scalar) -> Bool, continuing: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var i = 0
            while i < chars.count {
                if isStart(chars[i]) {
                    var j = i + 1
                    while j < chars.count && continuing(chars[j]) { j += 1 }
                    out.append(i..<j)
                    i = j
                } else { i += 1 }
            }
            return out
        }
        func replace(_ r: Range<Int>, _ s: String) { chars.replaceSubrange(r, with: Array(s.unicodeScalars)) }
        switch g.nextInt(below: 6) {
        case 0:
            let found = spans(where: { "-0123456789".unicodeScalars.contains($0) },
                              continuing: { "0123456789.eE+-".unicodeScalars.contains($0) })
            if let r = found.randomElement(using: &g) { replace(r, numbers[g.nextInt(below: numbers.count)]) }
        case 1, 2:
            var quoted: [Range<Int>] = []
            var open: Int?
            for (i, c) in chars.enumerated() where c == "\"" {
                if let o = open { quoted.append(o..<(i + 1)); open = nil } else { open = i }
            }
            if let r = quoted.randomElement(using: &g) {
                let pool = g.nextInt(below: 2) == 0 ? strings : numbers
                replace(r, pool[g.nextInt(below: pool.count)])
            }
        case 3:
            let structural = chars.indices.filter { "{}[],:".unicodeScalars.contains(chars[$0]) }
            if let i = structural.randomElement(using: &g) {
                if g.nextInt(below: 2) == 0 { chars.remove(at: i) } else { chars.insert(chars[i], at: i) }
            }
        default:
            let bytes = mutate(Array(text.utf8), &g)
            return String(decoding: bytes, as: UTF8.self)
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: chars)
        return String(s)
    }
}
