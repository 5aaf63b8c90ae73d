import TensorCore

/// The IDX file format of MNIST and Fashion-MNIST.
///
/// All integers are 32-bit big-endian. A file starts with a magic number `0x0000TTDD`, where
/// `TT = 0x08` says the values are unsigned bytes and `DD` is the number of dimensions, followed
/// by one 32-bit size per dimension and then the values in row-major order:
///
/// | file   | magic        | header                         | then                        |
/// |--------|--------------|--------------------------------|-----------------------------|
/// | labels | `0x00000801` | count (offset 4)               | `count` label bytes         |
/// | images | `0x00000803` | count, rows, columns (4, 8, 12)| `count·rows·columns` pixels |
///
/// Pixels are bytes 0…255 (0 is background), stored row by row; they are returned as floats in
/// [0, 1] in a `[count, 1, rows, columns]` tensor. Files may be gzip-compressed (detected by the
/// `1f 8b` header, see ``Gzip``). A file whose size differs from what its header declares, in
/// either direction, is rejected: a longer file usually means a wrong header.
public enum IDX {
    /// Magic number of a labels file (unsigned bytes, 1 dimension).
    public static let labelMagic: UInt32 = 0x0000_0801
    /// Magic number of an images file (unsigned bytes, 3 dimensions).
    public static let imageMagic: UInt32 = 0x0000_0803

    /// Reads an images file (raw or gzipped) into a `[count, 1, rows, columns]` tensor in [0, 1].
    public static func readImages(path: String) throws -> Tensor {
        try decodeImages(DataFile.readRaw(path), file: path)
    }

    /// Reads a labels file (raw or gzipped); every label must lie in `0..<classes`.
    public static func readLabels(path: String, classes: Int) throws -> [Int] {
        try decodeLabels(DataFile.readRaw(path), file: path, classes: classes)
    }

    /// Parses the contents of an images file (raw or gzipped); errors name `file`.
    public static func decodeImages(_ contents: [UInt8], file: String) throws -> Tensor {
        let bytes = try DataFile.decode(contents, file: file)
        try checkMagic(bytes, expected: imageMagic, what: "images", file: file)
        guard bytes.count >= 16 else {
            throw DatasetError(file: file, problem:
                "truncated header: \(bytes.count) bytes, an IDX images header needs 16")
        }
        let count = Int(readUInt32(bytes, at: 4))
        let rows = Int(readUInt32(bytes, at: 8))
        let columns = Int(readUInt32(bytes, at: 12))
        guard count > 0 else { throw DatasetError(file: file, problem: "header declares 0 images") }
        guard rows > 0 && columns > 0 else {
            throw DatasetError(file: file, problem: "header declares images of \(rows)×\(columns) pixels")
        }
        let (pixelsPerImage, o1) = rows.multipliedReportingOverflow(by: columns)
        let (pixels, o2) = pixelsPerImage.multipliedReportingOverflow(by: count)
        let (expected, o3) = pixels.addingReportingOverflow(16)
        let declared = "header declares \(count) images of \(rows)×\(columns) pixels"
        guard !(o1 || o2 || o3) else {
            throw DatasetError(file: file, problem: "\(declared), more bytes than any file can hold")
        }
        try checkSize(bytes.count, expected: expected, declared: declared, file: file)

        let storage = TensorStorage(uninitializedCount: pixels)
        bytes.withUnsafeBufferPointer { src in
            convertBytes(src.baseAddress! + 16, to: storage.pointer, count: pixels)
        }
        return Tensor(shape: [count, 1, rows, columns], storage: storage)
    }

    /// Parses the contents of a labels file (raw or gzipped); every label must lie in
    /// `0..<classes`. Errors name `file`.
    public static func decodeLabels(_ contents: [UInt8], file: String, classes: Int) throws -> [Int] {
        let bytes = try DataFile.decode(contents, file: file)
        try checkMagic(bytes, expected: labelMagic, what: "labels", file: file)
        guard bytes.count >= 8 else {
            throw DatasetError(file: file, problem:
                "truncated header: \(bytes.count) bytes, an IDX labels header needs 8")
        }
        let count = Int(readUInt32(bytes, at: 4))
        guard count > 0 else { throw DatasetError(file: file, problem: "header declares 0 labels") }
        try checkSize(bytes.count, expected: 8 + count, declared: "header declares \(count) labels", file: file)
        var labels = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let label = Int(bytes[8 + i])
            guard label < classes else {
                throw DatasetError(file: file, problem:
                    "label \(label) of sample \(i) is out of range 0..<\(classes)", kind: .invalidContents)
            }
            labels[i] = label
        }
        return labels
    }

    /// An IDX images file (uncompressed) holding `pixels`, `count·rows·columns` bytes.
    public static func encodeImages(_ pixels: [UInt8], count: Int, rows: Int, columns: Int) -> [UInt8] {
        precondition(pixels.count == count * rows * columns, "IDX.encodeImages: \(pixels.count) pixels for \(count)×\(rows)×\(columns)")
        return bigEndian(imageMagic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows))
            + bigEndian(UInt32(columns)) + pixels
    }

    /// An IDX labels file (uncompressed) holding `labels`.
    public static func encodeLabels(_ labels: [UInt8]) -> [UInt8] {
        bigEndian(labelMagic) + bigEndian(UInt32(labels.count)) + labels
    }

    // MARK: - Helpers

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    private static func checkMagic(_ bytes: [UInt8], expected: UInt32, what: String, file: String) throws {
        guard bytes.count >= 4 else {
            throw DatasetError(file: file, problem:
                bytes.isEmpty ? "empty file, expected IDX \(what)"
                              : "truncated header: \(bytes.count) bytes, too short for an IDX magic number")
        }
        let magic = readUInt32(bytes, at: 0)
        guard magic == expected else {
            var problem = "bad magic number \(hex32(magic)), expected \(hex32(expected)) for \(what)"
            if magic == imageMagic { problem += " (this looks like an images file)" }
            if magic == labelMagic { problem += " (this looks like a labels file)" }
            throw DatasetError(file: file, problem: problem)
        }
    }

    private static func checkSize(_ actual: Int, expected: Int, declared: String, file: String) throws {
        if actual < expected {
            throw DatasetError(file: file, problem:
                "truncated: \(declared) (\(expected) bytes with the header), the file has \(actual) bytes")
        }
        if actual > expected {
            throw DatasetError(file: file, problem:
                "wrong counts: \(declared) (\(expected) bytes with the header), the file has \(actual) bytes (\(actual - expected) extra)")
        }
    }
}
