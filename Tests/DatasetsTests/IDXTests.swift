import Testing
import Foundation
import TensorCore
@testable import Datasets

@Suite("IDX files and MNIST loading")
struct IDXTests {
    let fixture = IDXFixture()

    func checkImages(_ images: Tensor, _ f: IDXFixture) {
        #expect(images.shape == [f.count, 1, f.rows, f.columns])
        #expect(images.scalars == f.pixels.map { Float($0) / 255 })
        #expect(images.scalars.min() == 0 && images.scalars.max() == 1)
    }

    @Test("round trip: raw and gzipped images and labels decode to the written values")
    func roundTrip() throws {
        for gzip in [false, true] {
            let images = gzip ? Gzip.compress(fixture.imageFile) : fixture.imageFile
            let labels = gzip ? Gzip.compress(fixture.labelFile) : fixture.labelFile
            if gzip { #expect(images[0] == 0x1f && images[1] == 0x8b) }
            checkImages(try IDX.decodeImages(images, file: "x"), fixture)
            #expect(try IDX.decodeLabels(labels, file: "y", classes: 10) == fixture.labels.map(Int.init))
        }
    }

    @Test("MNIST.load reads both splits from raw and gzipped classic names")
    func loadDirectory() throws {
        for gzip in [false, true] {
            try withTemporaryDirectory { dir in
                try fixture.writeSplits(to: dir, gzip: gzip)
                let train = try MNIST.load(directory: dir, split: .train)
                checkImages(train.images, fixture)
                #expect(train.labels == fixture.labels.map(Int.init))
                #expect(train.classes == 10 && train.name == "mnist/train")
                let test = try MNIST.load(directory: dir, split: .test)
                #expect(test.count == 3 && test.name == "mnist/test")
                let fashion = try FashionMNIST.load(directory: dir, split: .train)
                #expect(fashion.name == "fashion-mnist/train" && fashion.count == fixture.count)
            }
        }
    }

    @Test("other spellings of the file names are found (Kaggle's train-images.idx3-ubyte)")
    func alternativeNames() throws {
        try withTemporaryDirectory { dir in
            try write(fixture.imageFile, to: dir, "train-images.idx3-ubyte")
            try write(Gzip.compress(fixture.labelFile), to: dir, "train-labels.idx1-ubyte.gz")
            let test = IDXFixture(count: 2, seed: 4)
            try write(test.imageFile, to: dir, "test-images.idx3-ubyte")
            try write(test.labelFile, to: dir, "test-labels.idx1-ubyte")
            #expect(try MNIST.load(directory: dir, split: .train).count == fixture.count)
            #expect(try MNIST.load(directory: dir, split: .test).count == 2)
        }
    }

    @Test("bad magic numbers name the file, the number found and the one expected")
    func badMagic() throws {
        try withTemporaryDirectory { dir in
            let imagesPath = try write(fixture.labelFile, to: dir, "train-images-idx3-ubyte.gz")
            let e = expectDatasetError("train-images-idx3-ubyte.gz: bad magic number 0x00000801, expected 0x00000803 for images",
                                       kind: .malformed) { try IDX.readImages(path: imagesPath) }
            #expect(e?.file == imagesPath)
            let labelsPath = try write(fixture.imageFile, to: dir, "train-labels-idx1-ubyte")
            expectDatasetError("train-labels-idx1-ubyte: bad magic number 0x00000803, expected 0x00000801 for labels") {
                try IDX.readLabels(path: labelsPath, classes: 10)
            }
            var other = fixture.imageFile
            other[2] = 0x0d   // IDX float data
            expectDatasetError("f: bad magic number 0x00000d03, expected 0x00000803 for images") {
                try IDX.decodeImages(other, file: "f")
            }
        }
    }

    @Test("truncated headers and data, extra bytes, zero and impossible counts")
    func wrongCounts() {
        let images = fixture.imageFile, labels = fixture.labelFile
        expectDatasetError("f: empty file, expected IDX images") { try IDX.decodeImages([], file: "f") }
        expectDatasetError("f: truncated header: 2 bytes") { try IDX.decodeImages([0, 0], file: "f") }
        expectDatasetError("f: truncated header: 10 bytes, an IDX images header needs 16") {
            try IDX.decodeImages(Array(images.prefix(10)), file: "f")
        }
        expectDatasetError("f: truncated header: 6 bytes, an IDX labels header needs 8") {
            try IDX.decodeLabels(Array(labels.prefix(6)), file: "f", classes: 10)
        }
        expectDatasetError("f: truncated: header declares 7 images of 5×4 pixels (156 bytes with the header), the file has 150 bytes") {
            try IDX.decodeImages(Array(images.dropLast(6)), file: "f")
        }
        expectDatasetError("f: wrong counts: header declares 7 images of 5×4 pixels", "the file has 159 bytes (3 extra)") {
            try IDX.decodeImages(images + [1, 2, 3], file: "f")
        }
        expectDatasetError("f: truncated: header declares 7 labels (15 bytes with the header), the file has 14 bytes") {
            try IDX.decodeLabels(Array(labels.dropLast()), file: "f", classes: 10)
        }
        expectDatasetError("f: wrong counts: header declares 7 labels") {
            try IDX.decodeLabels(labels + [0], file: "f", classes: 10)
        }
        expectDatasetError("f: header declares 0 images") {
            try IDX.decodeImages(IDX.encodeImages([], count: 0, rows: 28, columns: 28), file: "f")
        }
        expectDatasetError("f: header declares images of 0×28 pixels") {
            try IDX.decodeImages(IDX.encodeImages([], count: 5, rows: 0, columns: 28), file: "f")
        }
        expectDatasetError("f: header declares 0 labels") { try IDX.decodeLabels(IDX.encodeLabels([]), file: "f", classes: 10) }
        let huge = IDX.bigEndian(IDX.imageMagic) + [UInt8](repeating: 0xff, count: 12)
        expectDatasetError("f: header declares 4294967295 images of 4294967295×4294967295 pixels, more bytes than any file can hold") {
            try IDX.decodeImages(huge, file: "f")
        }
        let big = IDX.bigEndian(IDX.imageMagic) + IDX.bigEndian(60000) + IDX.bigEndian(28) + IDX.bigEndian(28) + [1, 2]
        expectDatasetError("f: truncated: header declares 60000 images of 28×28 pixels (47040016 bytes with the header), the file has 18 bytes") {
            try IDX.decodeImages(big, file: "f")
        }
    }

    @Test("labels out of range name the label, the sample and the range")
    func labelsOutOfRange() {
        var labels = fixture.labels
        labels[3] = 10
        expectDatasetError("f: label 10 of sample 3 is out of range 0..<10", kind: .invalidContents) {
            try IDX.decodeLabels(IDX.encodeLabels(labels), file: "f", classes: 10)
        }
        labels[3] = 255
        expectDatasetError("label 255 of sample 3") {
            try IDX.decodeLabels(Gzip.compress(IDX.encodeLabels(labels)), file: "f.gz", classes: 10)
        }
    }

    @Test("image and label files of different lengths")
    func countMismatch() throws {
        try withTemporaryDirectory { dir in
            try fixture.writeSplits(to: dir, gzip: true)
            let short = IDXFixture(count: 6)
            let labelsPath = try write(Gzip.compress(short.labelFile), to: dir, "train-labels-idx1-ubyte.gz")
            let e = expectDatasetError("train-labels-idx1-ubyte.gz: 6 labels but", "train-images-idx3-ubyte.gz has 7 images",
                                       kind: .invalidContents) { try MNIST.load(directory: dir, split: .train) }
            #expect(e?.file == labelsPath)
        }
    }

    @Test("bad gzip streams: corrupt, truncated, trailing garbage, over the size limit")
    func badGzip() throws {
        let gz = Gzip.compress(fixture.imageFile)
        var corrupt = gz
        corrupt[gz.count / 2] ^= 0xff
        corrupt[gz.count / 2 + 1] ^= 0x5a
        expectDatasetError("f.gz: corrupt gzip stream") { try IDX.decodeImages(corrupt, file: "f.gz") }
        var badCRC = gz
        badCRC[gz.count - 6] ^= 1   // the CRC-32 in the trailer
        expectDatasetError("f.gz: corrupt gzip stream: incorrect data check") { try IDX.decodeImages(badCRC, file: "f.gz") }
        expectDatasetError("f.gz: truncated gzip stream") { try IDX.decodeImages(Array(gz.dropLast(10)), file: "f.gz") }
        expectDatasetError("f.gz: truncated gzip stream") { try IDX.decodeImages([0x1f, 0x8b], file: "f.gz") }
        expectDatasetError("f.gz: 3 bytes of trailing data after the gzip stream") {
            try IDX.decodeImages(gz + [7, 8, 9], file: "f.gz")
        }
        // Zero padding after the stream is tolerated; concatenated members are joined.
        checkImages(try IDX.decodeImages(gz + [0, 0, 0, 0], file: "f.gz"), fixture)
        let image = fixture.imageFile
        let twoMembers = Gzip.compress(Array(image.prefix(50))) + Gzip.compress(Array(image.dropFirst(50)))
        checkImages(try IDX.decodeImages(twoMembers, file: "f.gz"), fixture)
        // The size guard stops a stream that inflates past the limit.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 5_000_000), level: 9)
        #expect(bomb.count < 10_000)
        expectDatasetError("b.gz: gzip stream decompresses to more than 1000000 bytes") {
            try Gzip.inflate(bomb, file: "b.gz", limit: 1_000_000)
        }
        #expect(try Gzip.inflate(bomb, file: "b.gz").count == 5_000_000)
    }

    @Test("a missing dataset says how to get it")
    func notFound() throws {
        try withTemporaryDirectory { dir in
            let e = expectDatasetError("dataset not found", "apt-get install dataset-fashion-mnist", "--data DIR",
                                       "train-images-idx3-ubyte", kind: .notFound) {
                try FashionMNIST.load(directory: dir, split: .train)
            }
            #expect(e?.file == dir)
            expectDatasetError("does not exist", "apt-get install dataset-fashion-mnist") {
                try FashionMNIST.load(directory: dir + "/nowhere", split: .test)
            }
            expectDatasetError("dataset not found", "--data DIR", kind: .notFound) {
                try MNIST.load(directory: dir, split: .test)
            }
            // Images present, labels missing.
            try write(fixture.imageFile, to: dir, "train-images-idx3-ubyte")
            expectDatasetError("no train-labels-idx1-ubyte[.gz]") { try MNIST.load(directory: dir, split: .train) }
            expectDatasetError("\(dir)/nofile: no such file", kind: .notFound) { try IDX.readImages(path: dir + "/nofile") }
        }
    }

    @Test("the real Fashion-MNIST, when installed: 60000/10000 images of 28×28, labels in 0..<10",
          .enabled(if: FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory + "/train-labels-idx1-ubyte.gz"),
                   "Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"))
    func realFashionMNIST() throws {
        for (split, count) in [(Split.train, 60000), (.test, 10000)] {
            let d = try FashionMNIST.load(split: split)
            #expect(d.count == count)
            #expect(d.images.shape == [count, 1, 28, 28])
            #expect(d.labels.allSatisfy { (0..<10).contains($0) })
            #expect(d.classCounts == [Int](repeating: count / 10, count: 10))   // balanced classes
            let (lo, hi) = d.images.withUnsafeBufferPointer { ($0.min()!, $0.max()!) }
            #expect(lo == 0 && hi == 1)
        }
    }
}
