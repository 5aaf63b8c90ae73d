import Testing
import TensorCore
@testable import Datasets

/// The parsers on thousands of random and mutated inputs: each must either throw a
/// ``DatasetError`` or return a valid dataset — never crash, never return garbage.
@Suite("Parser fuzzing")
struct FuzzTests {
    /// Runs every parser on `bytes`; fails the test on any outcome but a DatasetError or a valid result.
    static func exercise(_ bytes: [UInt8], case id: String) -> Int {
        var accepted = 0
        func run(_ what: String, _ body: () throws -> Void) {
            do { try body(); accepted += 1 } catch is DatasetError {
            } catch { Issue.record("\(what) on \(id): unexpected error \(error)") }
        }
        run("images") {
            let t = try IDX.decodeImages(bytes, file: "fuzz")
            #expect(t.rank == 4 && t.shape[0] > 0 && t.shape[1] == 1)
            #expect(t.withUnsafeBufferPointer { $0.allSatisfy { $0 >= 0 && $0 <= 1 } })
        }
        run("labels") {
            let l = try IDX.decodeLabels(bytes, file: "fuzz", classes: 10)
            #expect(!l.isEmpty && l.allSatisfy { (0..<10).contains($0) })
        }
        for variant in CIFAR.Variant.allCases {
            for labels in CIFAR.LabelSet.allCases {
                run("\(variant) \(labels)") {
                    let d = try CIFAR.decode(bytes, file: "fuzz", variant: variant, labels: labels)
                    #expect(d.images.shape == [d.count, 3, 32, 32] && d.count > 0)
                    #expect(d.labels.allSatisfy { (0..<d.classes).contains($0) })
                }
            }
        }
        return accepted
    }

    static func mutate(_ bytes: [UInt8], _ g: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        switch g.nextInt(below: 6) {
        case 0:   // flip a few bytes
            for _ in 0...g.nextInt(below: 4) where !b.isEmpty { b[g.nextInt(below: b.count)] ^= UInt8(1 + g.nextInt(below: 255)) }
        case 1:   // truncate
            b = Array(b.prefix(g.nextInt(below: b.count + 1)))
        case 2:   // append junk
            b += (0..<(1 + g.nextInt(below: 40))).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        case 3:   // overwrite a header word with a random value
            if b.count >= 16 {
                let at = 4 * g.nextInt(below: 4)
                let v = g.nextInt(below: 3) == 0 ? UInt32(truncatingIfNeeded: g.next()) : UInt32(g.nextInt(below: 64))
                b.replaceSubrange(at..<at + 4, with: IDX.bigEndian(v))
            }
        case 4:   // delete a byte range
            if b.count > 2 {
                let start = g.nextInt(below: b.count - 1)
                b.removeSubrange(start..<min(b.count, start + 1 + g.nextInt(below: 16)))
            }
        default:  // set a label-like byte to a large value
            if !b.isEmpty { b[g.nextInt(below: min(b.count, 20))] = UInt8(200 + g.nextInt(below: 56)) }
        }
        return b
    }

    @Test("random byte strings, bare and behind valid magic numbers and gzip headers")
    func randomStrings() {
        var g = SeededGenerator(seed: 2024)
        for i in 0..<1500 {
            var b = (0..<g.nextInt(below: 96)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            switch i % 4 {
            case 1: b = IDX.bigEndian(IDX.imageMagic) + b
            case 2: b = IDX.bigEndian(IDX.labelMagic) + b
            case 3: b = [0x1f, 0x8b, 0x08, 0x00] + b
            default: break
            }
            _ = Self.exercise(b, case: "random #\(i)")
        }
    }

    @Test("mutations of valid IDX and CIFAR files, raw and gzipped")
    func mutations() {
        let idx = IDXFixture(count: 3, rows: 4, columns: 3)
        let cifar10 = CIFARTests.cifar10Records(2, seed: 1).bytes
        let cifar100 = CIFARTests.cifar100Records(2, seed: 1).bytes
        let valid = [idx.imageFile, idx.labelFile, cifar10, cifar100]
        var g = SeededGenerator(seed: 7)
        var accepted = 0
        for i in 0..<2500 {
            let base = valid[i % valid.count]
            var b = Self.mutate(base, &g)
            if g.nextInt(below: 3) == 0 { b = Self.mutate(b, &g) }
            switch g.nextInt(below: 3) {
            case 0: break                                        // raw
            case 1: b = Gzip.compress(b)                         // valid gzip, mutated contents
            default: b = Self.mutate(Gzip.compress(base), &g)    // mutated gzip stream
            }
            accepted += Self.exercise(b, case: "mutation #\(i)")
        }
        // Some mutations (a flipped pixel, a gzip of the valid file) must still be accepted.
        #expect(accepted > 100)
        // And every valid file, raw and gzipped, is accepted by its parser.
        for b in valid { #expect(Self.exercise(b, case: "valid") >= 1 && Self.exercise(Gzip.compress(b), case: "valid gz") >= 1) }
    }
}
