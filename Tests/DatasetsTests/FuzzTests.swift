import Testing
import TensorCore
import _TestSupport
@testable import Datasets

/// The parsers on thousands of random and mutated inputs: each must either throw a
/// ``DatasetError`` or return a valid dataset — never crash, never return garbage.
@Suite("Parser fuzzing")
struct FuzzTests {
    /// Runs every parser on `bytes`; fails the test on any outcome but a DatasetError or a valid result.
    static func exercise(_ bytes: [UInt8], case id: String) -> Int {
        var accepted = 0
        func run(_ what: String, _ body: () throws -> Void) {
            do { try body(); accepted += 1 } catch let error as DatasetError {
                #expect("\(error)".contains("fuzz"), "\(what) on \(id): the error does not name the file: \(error)")
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

    /// `Fuzzing.iterations` mutated inputs per format (IDX images, IDX labels, CIFAR-10,
    /// CIFAR-100), each raw, as a valid gzip of mutated contents, or as a mutated gzip stream.
    @Test("mutations of valid IDX and CIFAR files, raw and gzipped")
    func mutations() {
        let idx = IDXFixture(count: 3, rows: 4, columns: 3)
        let formats: [(String, [UInt8])] = [
            ("idx-images", idx.imageFile), ("idx-labels", idx.labelFile),
            ("cifar10", CIFARTests.cifar10Records(2, seed: 1).bytes), ("cifar100", CIFARTests.cifar100Records(2, seed: 1).bytes),
        ]
        for (format, base) in formats {
            var g = Fuzzing.generator(format)
            var accepted = 0
            for i in 0..<Fuzzing.iterations {
                var b = Fuzzing.mutate(base, donor: formats[i % formats.count].1, &g)
                if g.nextInt(below: 3) == 0 { b = Fuzzing.mutate(b, &g) }
                switch g.nextInt(below: 3) {
                case 0: break                                                  // raw
                case 1: b = Gzip.compress(b)                                   // valid gzip, mutated contents
                default: b = Fuzzing.mutate(Gzip.compress(base), &g)           // mutated gzip stream
                }
                accepted += Self.exercise(b, case: "\(format) mutation #\(i) (seed \(Fuzzing.seed))") > 0 ? 1 : 0
            }
            Fuzzing.report(format, inputs: Fuzzing.iterations, accepted: accepted)
            // Some mutations (a flipped pixel, a gzip of the valid file) must still be accepted.
            #expect(accepted > Fuzzing.iterations / 50, "\(format): only \(accepted) mutated inputs accepted")
            // And the valid file, raw and gzipped, is accepted by its parser.
            #expect(Self.exercise(base, case: "valid") >= 1 && Self.exercise(Gzip.compress(base), case: "valid gz") >= 1)
        }
    }

    @Test("hostile sizes: headers that claim 2^31 images or a 4 GiB gzip payload are errors, not allocations")
    func hostileSizes() {
        var header = IDX.bigEndian(IDX.imageMagic) + IDX.bigEndian(0x7FFF_FFFF) + IDX.bigEndian(0x7FFF_FFFF) + IDX.bigEndian(0x7FFF_FFFF)
        header += [1, 2, 3]
        #expect(throws: DatasetError.self) { _ = try IDX.decodeImages(header, file: "huge") }
        #expect(throws: DatasetError.self) { _ = try IDX.decodeImages(Gzip.compress(header), file: "huge.gz") }
        // A gzip stream of 64 MiB of zeros inflates past a 1 MiB limit: stopped at the limit.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 1 << 20)
        #expect(throws: DatasetError.self) { _ = try Gzip.inflate(bomb, file: "bomb.gz", limit: 1 << 20) }
    }
}
