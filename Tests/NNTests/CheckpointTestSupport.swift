import Foundation
import Testing
import TensorCore
@testable import NN

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct CheckpointTempDirectory {
    let url: URL

    init(_ label: String = "ckpt") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("lcnn-\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// The names in the directory, sorted.
    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Bytes of a safetensors file assembled by hand: 8-byte length (the header's own unless
/// `headerLength` overrides it), the header text, then `data`.
func safetensorsBytes(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var length = (headerLength ?? UInt64(headerBytes.count)).littleEndian
    var out = Data()
    withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
    out.append(contentsOf: headerBytes)
    out.append(contentsOf: data)
    return out
}

/// Little-endian bytes of fixed-width integers.
func leBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    var out: [UInt8] = []
    for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    return out
}

/// Little-endian bytes of Floats.
func leBytes(_ values: [Float]) -> [UInt8] { leBytes(values.map(\.bitPattern)) }

/// The values of each tensor, as bit patterns (so NaNs and signed zeros compare exactly).
func bitPatterns(_ dict: [String: Tensor]) -> [String: [UInt32]] {
    dict.mapValues { $0.scalars.map(\.bitPattern) }
}

/// Decodes `data`, expecting a ``CheckpointError`` whose message contains every fragment.
func expectDecodeError(_ data: Data, _ fragments: [String], source: String = "bad.safetensors",
                       sourceLocation: SourceLocation = #_sourceLocation) {
    let error = #expect(throws: CheckpointError.self, sourceLocation: sourceLocation) {
        _ = try SafeTensors.decode(data, source: source)
    }
    guard let error else { return }
    let message = error.description
    #expect(message.hasPrefix(source + ":"), "message should name the file: \(message)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(message.contains(fragment), "\"\(message)\" should contain \"\(fragment)\"", sourceLocation: sourceLocation)
    }
}

/// A small valid file: an F32 matrix, an I64 counter, an empty tensor, a scalar, and metadata.
func smallValidSafetensors() throws -> Data {
    let tensors: [String: Tensor] = [
        "a.weight": Tensor([1, -2, 3.5, 0, 1e-30, -7], shape: [2, 3]),
        "bn.num_batches_tracked": Tensor(5),
        "empty": Tensor.zeros([0, 4]),
        "scalar": Tensor(0.25),
    ]
    return try SafeTensors.encode(tensors, metadata: ["epoch": "3", "note": "small"])
}
