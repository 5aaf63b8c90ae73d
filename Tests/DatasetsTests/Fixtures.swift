import Testing
import Foundation
import TensorCore
@testable import Datasets

/// A fresh temporary directory, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("datasets-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Writes `bytes` to `directory/name` and returns the path.
@discardableResult
func write(_ bytes: [UInt8], to directory: String, _ name: String) throws -> String {
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// `count` seeded random bytes, the first ones 0 and 255 so both extremes are always present.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed)
    var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    if count > 0 { bytes[0] = 0 }
    if count > 1 { bytes[1] = 255 }
    return bytes
}

/// A small MNIST-like split: `count` images of `rows`×`columns` and labels in 0..<10.
struct IDXFixture {
    let count: Int, rows: Int, columns: Int
    let pixels: [UInt8]
    let labels: [UInt8]

    init(count: Int = 7, rows: Int = 5, columns: Int = 4, seed: UInt64 = 1) {
        self.count = count
        self.rows = rows
        self.columns = columns
        pixels = randomBytes(count * rows * columns, seed: seed)
        labels = (0..<count).map { UInt8($0 % 10) }
    }

    var imageFile: [UInt8] { IDX.encodeImages(pixels, count: count, rows: rows, columns: columns) }
    var labelFile: [UInt8] { IDX.encodeLabels(labels) }

    /// Writes the four files with the classic names (optionally gzipped) into `directory`.
    func writeSplits(to directory: String, gzip: Bool, testCount: Int? = nil) throws {
        let suffix = gzip ? ".gz" : ""
        func enc(_ b: [UInt8]) -> [UInt8] { gzip ? Gzip.compress(b) : b }
        try write(enc(imageFile), to: directory, "train-images-idx3-ubyte" + suffix)
        try write(enc(labelFile), to: directory, "train-labels-idx1-ubyte" + suffix)
        let test = IDXFixture(count: testCount ?? 3, rows: rows, columns: columns, seed: 99)
        try write(enc(test.imageFile), to: directory, "t10k-images-idx3-ubyte" + suffix)
        try write(enc(test.labelFile), to: directory, "t10k-labels-idx1-ubyte" + suffix)
    }
}

/// Runs `body`, expects a ``DatasetError`` whose description contains every fragment, and
/// returns it.
@discardableResult
func expectDatasetError(_ fragments: String..., kind: DatasetError.Kind? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Any) -> DatasetError? {
    do {
        let value = try body()
        Issue.record("expected a DatasetError containing \(fragments), got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as DatasetError {
        for fragment in fragments {
            #expect(error.description.contains(fragment),
                    "“\(error.description)” should contain “\(fragment)”", sourceLocation: sourceLocation)
        }
        if let kind { #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected a DatasetError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
