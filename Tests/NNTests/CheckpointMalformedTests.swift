import Foundation
import Testing
import TensorCore
@testable import NN

/// Malformed input must give a thrown ``CheckpointError`` naming the file and the problem,
/// never a crash.
@Suite("Checkpoint: malformed safetensors files")
struct CheckpointMalformedTests {
    @Test("every truncation of a valid file is an error")
    func truncation() throws {
        let data = try smallValidSafetensors()
        _ = try SafeTensors.decode(data)
        for length in 0 ..< data.count {
            #expect(throws: CheckpointError.self, "prefix of \(length) bytes") {
                _ = try SafeTensors.decode(data.prefix(length), source: "cut.safetensors")
            }
        }
        expectDecodeError(data.prefix(5), ["file is 5 bytes, too short"])
        expectDecodeError(data.prefix(20), ["header length", "goes beyond the end of the file (20 bytes"])
        expectDecodeError(data.dropLast(3), ["tensor \"scalar\" has invalid data_offsets: [32, 36] is out of range: the file has 33 bytes of data"])
        // Trailing bytes that no tensor claims are an error too, as in the reference reader.
        expectDecodeError(data + [0, 0, 0, 0], ["cover 36 bytes of data but the file has 40"])
    }

    @Test("truncated files on disk are errors naming the file")
    func truncatedFile() throws {
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        let url = dir.file("cut.safetensors")
        try smallValidSafetensors().prefix(30).write(to: url)
        let error = #expect(throws: CheckpointError.self) { _ = try loadSafeTensors(from: url) }
        #expect(error?.description.hasPrefix(url.path + ": ") == true)
        let model = ModelConfig(architecture: .mlp).makeModel()
        #expect(throws: CheckpointError.self) { try model.loadCheckpoint(from: url) }
    }

    @Test("corrupted headers")
    func corruptedHeaders() {
        let four = leBytes([Float(1)])
        func entry(_ name: String = "t", dtype: String = "\"F32\"", shape: String = "[1]", offsets: String = "[0,4]") -> String {
            "\"\(name)\":{\"dtype\":\(dtype),\"shape\":\(shape),\"data_offsets\":\(offsets)}"
        }
        // Sanity: the base case is valid.
        #expect((try? SafeTensors.decode(safetensorsBytes(header: "{\(entry())}", data: four))) != nil)
        #expect((try? SafeTensors.decode(safetensorsBytes(header: "{\(entry())}        ", data: four))) != nil, "space padding")

        expectDecodeError(safetensorsBytes(header: "{\(entry())", data: four), ["header is not valid JSON"])
        expectDecodeError(safetensorsBytes(header: "{\"t\":}", data: four), ["header is not valid JSON"])
        expectDecodeError(safetensorsBytes(header: " {\(entry())}", data: four), ["does not start with \"{\""])
        expectDecodeError(safetensorsBytes(header: "", data: four), ["header is empty"])
        expectDecodeError(safetensorsBytes(header: "{\"a\":\"x\"}"), ["entry \"a\" is not an object"])
        var badUTF8 = safetensorsBytes(header: "{\"ab\":1}")
        badUTF8[10] = 0xFF
        expectDecodeError(badUTF8, ["not valid UTF-8"])
        expectDecodeError(safetensorsBytes(header: "[1,2]"), ["does not start with \"{\""])
        expectDecodeError(safetensorsBytes(header: "{\(entry(dtype: "\"F33\""))}", data: four),
                          ["tensor \"t\" has unknown dtype \"F33\""])
        expectDecodeError(safetensorsBytes(header: "{\(entry(dtype: "32"))}", data: four), ["\"dtype\" is not a string"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(dtype: "\"F8_E4M3\"", offsets: "[0,1]"))}", data: [1]),
                          ["dtype F8_E4M3, which cannot be converted"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,8]"))}", data: four),
                          ["tensor \"t\" has invalid data_offsets", "[0, 8] is out of range", "4 bytes of data"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[4,0]"))}", data: four), ["begin 4 is after end 0"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,-4]"))}", data: four), ["not two non-negative integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,4.0]"))}", data: four), ["not two non-negative integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,true]"))}", data: four), ["not two non-negative integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,4,8]"))}", data: four), ["not a list of two integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,18446744073709551615]"))}", data: four),
                          ["not two non-negative integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(offsets: "[0,99999999999999999999999]"))}", data: four),
                          ["not two non-negative integers"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(shape: "[2]"))}", data: four),
                          ["[0, 4] spans 4 bytes but shape [2] of F32 needs 8"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(shape: "[-1]"))}", data: four), ["invalid shape", "-1"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(shape: "[true]"))}", data: four), ["invalid shape"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(shape: "2"))}", data: four), ["\"shape\" is not a list"])
        expectDecodeError(safetensorsBytes(header: "{\(entry(shape: "[4294967296,4294967296,4294967296]"))}", data: four),
                          ["overflows"])
        expectDecodeError(safetensorsBytes(header: "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", data: four),
                          ["entry \"t\" has no \"dtype\""])
        expectDecodeError(safetensorsBytes(header: "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", data: four),
                          ["entry \"t\" has no \"shape\""])
        expectDecodeError(safetensorsBytes(header: "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: four),
                          ["entry \"t\" has no \"data_offsets\""])
        expectDecodeError(safetensorsBytes(header: "{\"t\":[1]}", data: four), ["entry \"t\" is not an object"])
        // Overlaps and gaps.
        let eight = four + four
        expectDecodeError(safetensorsBytes(header: "{\(entry("a")),\(entry("b"))}", data: eight), ["overlaps \"a\""])
        expectDecodeError(safetensorsBytes(header: "{\(entry("a", offsets: "[4,8]"))}", data: eight),
                          ["leaving bytes 0..<4 of the data unused"])
        expectDecodeError(safetensorsBytes(header: "{\(entry("a", shape: "[2]", offsets: "[0,8]")),\(entry("b", offsets: "[4,8]"))}",
                                           data: eight), ["overlaps"])
        // Duplicates (JSONSerialization alone would keep the last silently).
        expectDecodeError(safetensorsBytes(header: "{\(entry("a")),\(entry("a"))}", data: four),
                          ["header names \"a\" more than once"])
        expectDecodeError(safetensorsBytes(header: "{\(entry("a")),\"\\u0061\":{}}", data: four),
                          ["header names \"a\" more than once"])
        // Metadata.
        expectDecodeError(safetensorsBytes(header: "{\"__metadata__\":{\"k\":1},\(entry())}", data: four),
                          ["\"__metadata__\" value of \"k\" is not a string"])
        expectDecodeError(safetensorsBytes(header: "{\"__metadata__\":[\"k\"],\(entry())}", data: four),
                          ["\"__metadata__\" is not an object"])
        let withMetadata = try? SafeTensors.decode(
            safetensorsBytes(header: "{\"__metadata__\":{\"format\":\"pt\",\"x\":\"{\\\"a\\\":1}\"},\(entry())}", data: four))
        #expect(withMetadata?.metadata == ["format": "pt", "x": "{\"a\":1}"])
        // Header lengths.
        expectDecodeError(safetensorsBytes(header: "{}", headerLength: UInt64.max), ["header length 18446744073709551615 goes beyond"])
        expectDecodeError(safetensorsBytes(header: "{}", headerLength: 1 << 40), ["goes beyond the end of the file"])
        expectDecodeError(safetensorsBytes(header: "{}", headerLength: 3), ["goes beyond the end of the file"])
        expectDecodeError(safetensorsBytes(header: "{}", data: [1]), ["cover 0 bytes of data but the file has 1"])
        expectDecodeError(safetensorsBytes(header: String(repeating: "[", count: 100_000)), ["does not start with"])
        expectDecodeError(safetensorsBytes(header: "{\"a\":" + String(repeating: "[", count: 100_000)), ["not valid JSON"])
        // An empty file with no tensors is valid.
        #expect((try? SafeTensors.decode(safetensorsBytes(header: "{}")))?.tensors.isEmpty == true)
    }

    @Test("the header-size limit")
    func headerLimit() {
        // A header beyond the 100 MB limit is refused before it is parsed (checked with a
        // sparse in-memory buffer only as large as needed).
        let n = UInt64(SafeTensors.maximumHeaderLength + 1)
        var data = safetensorsBytes(header: "{", headerLength: n)
        data.append(Data(count: Int(n) - 1))
        expectDecodeError(data, ["header length \(n) exceeds the limit of 100000000 bytes"])
    }

    @Test("random and mutated byte strings never crash the reader")
    func fuzz() throws {
        var rng = SeededGenerator(seed: 0x5AFE)
        let valid = try smallValidSafetensors()
        let headerLength = Int(valid.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var accepted = 0
        func attempt(_ bytes: Data) {
            if let file = try? SafeTensors.decode(bytes, source: "fuzz") {
                accepted += 1
                // Whatever is accepted must be self-consistent.
                for (name, entry) in file.entries {
                    #expect(file.tensors[name]?.shape == entry.shape)
                    #expect(entry.dataOffsets.count == entry.shape.reduce(1, *) * entry.dtype.byteSize)
                }
            }
        }
        // Pure noise, with lengths from 0 to 300 and sometimes a plausible header length.
        for _ in 0 ..< 1500 {
            let length = Int.random(in: 0 ... 300, using: &rng)
            var bytes = Data((0 ..< length).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
            if length >= 8 && Bool.random(using: &rng) {
                let n = UInt64.random(in: 0 ... UInt64(length - 8), using: &rng)
                withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(0 ..< 8, with: $0) }
                if n > 0 { bytes[8] = UInt8(ascii: "{") }
            }
            attempt(bytes)
        }
        // Random JSON-ish headers made of header tokens.
        let tokens = ["{", "}", "[", "]", ",", ":", "\"t\"", "\"dtype\"", "\"F32\"", "\"I64\"", "\"F16\"", "\"shape\"",
                      "\"data_offsets\"", "\"__metadata__\"", "0", "4", "8", "-1", "1e3", "true", "null", " ", "\"\\u0000\""]
        for _ in 0 ..< 1500 {
            var header = "{"
            for _ in 0 ..< Int.random(in: 0 ... 30, using: &rng) { header += tokens.randomElement(using: &rng)! }
            let data = (0 ..< Int.random(in: 0 ... 16, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            attempt(safetensorsBytes(header: header, data: data))
        }
        // Mutations of a valid file: byte flips, splices, length edits.
        for _ in 0 ..< 2000 {
            var bytes = valid
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                switch Int.random(in: 0 ..< 5, using: &rng) {
                case 0, 1:   // flip a byte (mostly in the header, where it matters)
                    guard !bytes.isEmpty else { continue }
                    let i = Int.random(in: 0 ..< min(bytes.count, 8 + headerLength + 8), using: &rng)
                    bytes[bytes.startIndex + i] ^= UInt8.random(in: 1 ... 255, using: &rng)
                case 2:      // replace a byte of the header by a digit
                    guard bytes.count > 8 else { continue }
                    let i = Int.random(in: 8 ..< min(bytes.count, 8 + headerLength), using: &rng)
                    bytes[bytes.startIndex + i] = UInt8(ascii: "0") + UInt8.random(in: 0 ... 9, using: &rng)
                case 3:      // cut or extend
                    let newLength = Int.random(in: 0 ... valid.count + 16, using: &rng)
                    bytes = newLength <= bytes.count ? bytes.prefix(newLength) : bytes + Data(count: newLength - bytes.count)
                default:     // change the header length
                    if bytes.count >= 8 {
                        let n = UInt64(max(0, headerLength + Int.random(in: -16 ... 16, using: &rng)))
                        withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(bytes.startIndex ..< bytes.startIndex + 8, with: $0) }
                    }
                }
            }
            attempt(Data(bytes))
        }
        // Some mutations keep the file valid (e.g. a changed data byte or metadata letter).
        #expect(accepted > 0)
    }
}
