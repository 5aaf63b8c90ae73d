import TensorCore

/// CIFAR-10 and CIFAR-100 in their binary ("for C programs") versions.
///
/// Each file is a run of fixed-size records with no header; every image is 32×32 colour,
/// stored as 1024 red, then 1024 green, then 1024 blue bytes, each plane row by row — already
/// channel-major, so a record maps straight to one `[3, 32, 32]` sample.
///
/// | variant   | files                                                  | record                                   |
/// |-----------|--------------------------------------------------------|------------------------------------------|
/// | CIFAR-10  | `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` | label (0…9), 3072 pixels = 3073 bytes    |
/// | CIFAR-100 | `train.bin`, `test.bin`                               | coarse (0…19), fine (0…99), 3072 = 3074 bytes |
///
/// The files are looked for in the directory given and, failing that, in the folder the
/// official archive extracts to (`cifar-10-batches-bin/`, `cifar-100-binary/`). Any file may
/// be gzipped (detected from its contents). A file that is empty, not a whole number of
/// records, or holds a label out of range is rejected with an error naming it.
public enum CIFAR {
    public enum Variant: String, Sendable, CaseIterable, Equatable {
        case cifar10
        case cifar100
    }

    /// CIFAR-100's two label sets: 100 fine classes (the default) or 20 coarse superclasses.
    public enum LabelSet: String, Sendable, CaseIterable, Equatable {
        case fine
        case coarse
    }

    /// Pixel bytes per image (3 × 32 × 32).
    public static let imageBytes = 3072
    /// The shape of one sample.
    public static let sampleShape = [3, 32, 32]
    /// CIFAR-10's class names, by label.
    public static let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                           "dog", "frog", "horse", "ship", "truck"]

    /// Bytes per record: 3073 for CIFAR-10, 3074 for CIFAR-100.
    public static func recordSize(_ variant: Variant) -> Int {
        labelBytes(variant) + imageBytes
    }

    /// The number of classes of a variant and label set (10; 100 fine or 20 coarse).
    public static func classes(_ variant: Variant, labels: LabelSet = .fine) -> Int {
        switch (variant, labels) {
        case (.cifar10, _): 10
        case (.cifar100, .fine): 100
        case (.cifar100, .coarse): 20
        }
    }

    /// The file names of a split, in load order.
    public static func fileNames(_ variant: Variant, split: Split) -> [String] {
        switch (variant, split) {
        case (.cifar10, .train): (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): ["test_batch.bin"]
        case (.cifar100, .train): ["train.bin"]
        case (.cifar100, .test): ["test.bin"]
        }
    }

    /// Loads one split: images `[N, 3, 32, 32]` in [0, 1], labels in `0..<classes`.
    /// For CIFAR-100, `labels` picks fine (default) or coarse labels; CIFAR-10 ignores it.
    public static func load(directory: String, variant: Variant, split: Split,
                            labels: LabelSet = .fine) throws -> Dataset {
        let paths = try files(in: directory, variant: variant, split: split)
        var parts: [Records] = []
        for path in paths {
            parts.append(try parse(DataFile.readRaw(path), file: path, variant: variant, labels: labels))
        }
        return assemble(parts, name: "\(variant.rawValue)/\(split.rawValue)", variant: variant, labels: labels)
    }

    /// Parses the contents of one batch file (raw or gzipped) into a dataset; errors name `file`.
    public static func decode(_ contents: [UInt8], file: String, variant: Variant,
                              labels: LabelSet = .fine) throws -> Dataset {
        let records = try parse(contents, file: file, variant: variant, labels: labels)
        return assemble([records], name: variant.rawValue, variant: variant, labels: labels)
    }

    /// One record, for writing CIFAR files (tests, exports): the label byte(s) then the pixels.
    /// For CIFAR-10 pass `fine: nil`.
    public static func encodeRecord(label: UInt8, fine: UInt8? = nil, pixels: [UInt8]) -> [UInt8] {
        precondition(pixels.count == imageBytes, "CIFAR.encodeRecord: \(pixels.count) pixels, expected \(imageBytes)")
        return [label] + (fine.map { [$0] } ?? []) + pixels
    }

    // MARK: - Implementation

    static func labelBytes(_ variant: Variant) -> Int { variant == .cifar10 ? 1 : 2 }

    /// The validated, decompressed bytes of one file.
    struct Records {
        var bytes: [UInt8]
        var count: Int
        var labels: [Int]
    }

    static func parse(_ contents: [UInt8], file: String, variant: Variant, labels labelSet: LabelSet) throws -> Records {
        let bytes = try DataFile.decode(contents, file: file)
        let size = recordSize(variant)
        let title = variant == .cifar10 ? "CIFAR-10" : "CIFAR-100"
        guard !bytes.isEmpty else {
            throw DatasetError(file: file, problem: "empty file, expected \(title) records of \(size) bytes")
        }
        guard bytes.count % size == 0 else {
            throw DatasetError(file: file, problem:
                "truncated: \(bytes.count) bytes is not a whole number of \(size)-byte \(title) records "
                + "(\(bytes.count / size) records and \(bytes.count % size) bytes over)")
        }
        let count = bytes.count / size
        var labels = [Int](repeating: 0, count: count)
        for r in 0..<count {
            let base = r * size
            switch variant {
            case .cifar10:
                let label = Int(bytes[base])
                guard label < 10 else {
                    throw DatasetError(file: file, problem:
                        "label \(label) of record \(r) is out of range 0..<10", kind: .invalidContents)
                }
                labels[r] = label
            case .cifar100:
                let coarse = Int(bytes[base]), fine = Int(bytes[base + 1])
                guard coarse < 20 else {
                    throw DatasetError(file: file, problem:
                        "coarse label \(coarse) of record \(r) is out of range 0..<20", kind: .invalidContents)
                }
                guard fine < 100 else {
                    throw DatasetError(file: file, problem:
                        "fine label \(fine) of record \(r) is out of range 0..<100", kind: .invalidContents)
                }
                labels[r] = labelSet == .fine ? fine : coarse
            }
        }
        return Records(bytes: bytes, count: count, labels: labels)
    }

    static func assemble(_ parts: [Records], name: String, variant: Variant, labels labelSet: LabelSet) -> Dataset {
        let total = parts.reduce(0) { $0 + $1.count }
        let size = recordSize(variant), offset = labelBytes(variant)
        let storage = TensorStorage(uninitializedCount: total * imageBytes)
        var row = 0
        for part in parts {
            part.bytes.withUnsafeBufferPointer { src in
                let base = src.baseAddress!
                for r in 0..<part.count {
                    convertBytes(base + r * size + offset, to: storage.pointer + row * imageBytes, count: imageBytes)
                    row += 1
                }
            }
        }
        return Dataset(name: name, images: Tensor(shape: [total] + sampleShape, storage: storage),
                       labels: parts.flatMap(\.labels), classes: classes(variant, labels: labelSet))
    }

    /// The paths of a split's files, in `directory` or the archive's folder inside it.
    static func files(in directory: String, variant: Variant, split: Split) throws -> [String] {
        let names = fileNames(variant, split: split)
        let archiveFolder = variant == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary"
        for folder in [directory, DataFile.join(directory, archiveFolder)] {
            let found = names.map { name -> String? in
                [name, name + ".gz"].map { DataFile.join(folder, $0) }.first(where: DataFile.exists)
            }
            if found.allSatisfy({ $0 != nil }) { return found.map { $0! } }
            if found.contains(where: { $0 != nil }) {
                let missing = zip(names, found).filter { $0.1 == nil }.map(\.0)
                throw DatasetError(file: folder, problem:
                    "incomplete \(variant.rawValue) \(split.rawValue) split: missing \(missing.joined(separator: ", "))",
                    kind: .notFound)
            }
        }
        let archive = variant == .cifar10 ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz"
        throw DatasetError(file: directory, problem:
            "dataset not found: no \(names[0]) here or in \(archiveFolder)/; download the binary version "
            + "(\(archive)) from https://www.cs.toronto.edu/~kriz/cifar.html, extract it, and pass "
            + "--data DIR with \(fileNames(variant, split: .train).joined(separator: ", ")) and "
            + "\(fileNames(variant, split: .test).joined(separator: ", "))", kind: .notFound)
    }
}
