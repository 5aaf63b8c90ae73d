import Testing
import Foundation
import TensorCore
@testable import Datasets

@Suite("CIFAR binary batches")
struct CIFARTests {
    /// `count` CIFAR-10 records with labels `(start + i) % 10` and seeded pixels.
    static func cifar10Records(_ count: Int, start: Int = 0, seed: UInt64) -> (bytes: [UInt8], labels: [Int], pixels: [[UInt8]]) {
        var bytes: [UInt8] = [], labels: [Int] = [], pixels: [[UInt8]] = []
        for i in 0..<count {
            let p = randomBytes(CIFAR.imageBytes, seed: seed &* 1000 &+ UInt64(i))
            let label = (start + i) % 10
            bytes += CIFAR.encodeRecord(label: UInt8(label), pixels: p)
            labels.append(label)
            pixels.append(p)
        }
        return (bytes, labels, pixels)
    }

    static func cifar100Records(_ count: Int, seed: UInt64) -> (bytes: [UInt8], coarse: [Int], fine: [Int]) {
        var bytes: [UInt8] = [], coarse: [Int] = [], fine: [Int] = []
        for i in 0..<count {
            let c = (i * 7) % 20, f = (i * 37 + 99) % 100
            bytes += CIFAR.encodeRecord(label: UInt8(c), fine: UInt8(f), pixels: randomBytes(CIFAR.imageBytes, seed: seed + UInt64(i)))
            coarse.append(c)
            fine.append(f)
        }
        return (bytes, coarse, fine)
    }

    @Test("CIFAR-10: five training batches and the test batch, in order, pixels in CHW and [0, 1]")
    func cifar10() throws {
        try withTemporaryDirectory { dir in
            var labels: [Int] = [], pixels: [[UInt8]] = []
            for b in 1...5 {
                let r = Self.cifar10Records(b, start: b, seed: UInt64(b))   // 1 + 2 + … + 5 = 15 records
                // One batch gzipped: compression is detected from the contents.
                try write(b == 3 ? Gzip.compress(r.bytes) : r.bytes, to: dir, "data_batch_\(b).bin" + (b == 3 ? ".gz" : ""))
                labels += r.labels
                pixels += r.pixels
            }
            try write(Self.cifar10Records(5, seed: 77).bytes, to: dir, "test_batch.bin")
            let train = try CIFAR.load(directory: dir, variant: .cifar10, split: .train)
            #expect(train.images.shape == [15, 3, 32, 32])
            #expect(train.sampleShape == CIFAR.sampleShape)
            #expect(train.labels == labels)
            #expect(train.classes == 10 && train.name == "cifar10/train")
            #expect(train.images.scalars == pixels.flatMap { $0 }.map { Float($0) / 255 })
            // Record layout: byte 1 + (c·1024 + y·32 + x) is pixel [c, y, x].
            #expect(train.images[4, 2, 7, 9] == Float(pixels[4][2 * 1024 + 7 * 32 + 9]) / 255)
            let test = try CIFAR.load(directory: dir, variant: .cifar10, split: .test)
            #expect(test.count == 5 && test.name == "cifar10/test")
        }
    }

    @Test("CIFAR-100: fine labels by default, coarse on request")
    func cifar100() throws {
        try withTemporaryDirectory { dir in
            let r = Self.cifar100Records(5, seed: 3)
            try write(r.bytes, to: dir, "train.bin")
            try write(Self.cifar100Records(2, seed: 9).bytes, to: dir, "test.bin")
            let fine = try CIFAR.load(directory: dir, variant: .cifar100, split: .train)
            #expect(fine.labels == r.fine && fine.classes == 100)
            #expect(fine.images.shape == [5, 3, 32, 32])
            let coarse = try CIFAR.load(directory: dir, variant: .cifar100, split: .train, labels: .coarse)
            #expect(coarse.labels == r.coarse && coarse.classes == 20)
            #expect(coarse.images.scalars == fine.images.scalars)
            #expect(try CIFAR.load(directory: dir, variant: .cifar100, split: .test).count == 2)
        }
    }

    @Test("the folders the official archives extract to are looked into")
    func archiveFolders() throws {
        try withTemporaryDirectory { dir in
            let sub = dir + "/cifar-10-batches-bin"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            try write(Self.cifar10Records(3, seed: 1).bytes, to: sub, "test_batch.bin")
            #expect(try CIFAR.load(directory: dir, variant: .cifar10, split: .test).count == 3)
            let sub100 = dir + "/cifar-100-binary"
            try FileManager.default.createDirectory(atPath: sub100, withIntermediateDirectories: true)
            try write(Self.cifar100Records(2, seed: 1).bytes, to: sub100, "test.bin")
            #expect(try CIFAR.load(directory: dir, variant: .cifar100, split: .test).count == 2)
        }
    }

    @Test("truncated, empty and oversized records name the file and the record size")
    func truncated() throws {
        let records = Self.cifar10Records(5, seed: 2).bytes
        expectDatasetError("b.bin: truncated: 15364 bytes is not a whole number of 3073-byte CIFAR-10 records (4 records and 3072 bytes over)") {
            try CIFAR.decode(Array(records.dropLast(1)), file: "b.bin", variant: .cifar10)
        }
        // A CIFAR-10 file read as CIFAR-100 is the wrong record size.
        expectDatasetError("b.bin: truncated: 15365 bytes is not a whole number of 3074-byte CIFAR-100 records") {
            try CIFAR.decode(records, file: "b.bin", variant: .cifar100)
        }
        expectDatasetError("e.bin: empty file, expected CIFAR-10 records of 3073 bytes") {
            try CIFAR.decode([], file: "e.bin", variant: .cifar10)
        }
        expectDatasetError("b.bin.gz: truncated gzip stream") {
            try CIFAR.decode(Array(Gzip.compress(records).dropLast(20)), file: "b.bin.gz", variant: .cifar10)
        }
        try withTemporaryDirectory { dir in
            let path = try write(Array(records.prefix(5000)), to: dir, "test_batch.bin")
            let e = expectDatasetError("test_batch.bin: truncated: 5000 bytes") {
                try CIFAR.load(directory: dir, variant: .cifar10, split: .test)
            }
            #expect(e?.file == path)
        }
    }

    @Test("labels out of range: CIFAR-10 label, CIFAR-100 coarse and fine")
    func labelsOutOfRange() {
        var c10 = Self.cifar10Records(3, seed: 4).bytes
        c10[2 * 3073] = 10
        expectDatasetError("b.bin: label 10 of record 2 is out of range 0..<10", kind: .invalidContents) {
            try CIFAR.decode(c10, file: "b.bin", variant: .cifar10)
        }
        var c100 = Self.cifar100Records(3, seed: 4).bytes
        c100[1 * 3074 + 1] = 100
        expectDatasetError("train.bin: fine label 100 of record 1 is out of range 0..<100") {
            try CIFAR.decode(c100, file: "train.bin", variant: .cifar100)
        }
        // The coarse label is checked even when fine labels are used.
        c100[1 * 3074 + 1] = 5
        c100[0] = 20
        expectDatasetError("train.bin: coarse label 20 of record 0 is out of range 0..<20") {
            try CIFAR.decode(c100, file: "train.bin", variant: .cifar100)
        }
    }

    @Test("missing files: a missing dataset says where to get it, a partial split names what is missing")
    func missing() throws {
        try withTemporaryDirectory { dir in
            expectDatasetError("dataset not found", "data_batch_1.bin", "https://www.cs.toronto.edu/~kriz/cifar.html",
                               "--data DIR", kind: .notFound) {
                try CIFAR.load(directory: dir, variant: .cifar10, split: .train)
            }
            expectDatasetError("dataset not found", "cifar-100-binary.tar.gz") {
                try CIFAR.load(directory: dir, variant: .cifar100, split: .test)
            }
            for b in [1, 2, 4, 5] { try write(Self.cifar10Records(1, seed: 1).bytes, to: dir, "data_batch_\(b).bin") }
            expectDatasetError("\(dir): incomplete cifar10 train split: missing data_batch_3.bin", kind: .notFound) {
                try CIFAR.load(directory: dir, variant: .cifar10, split: .train)
            }
        }
    }
}
