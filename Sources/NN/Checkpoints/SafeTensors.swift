import Foundation
import TensorCore

/// Reading and writing safetensors files.
///
/// Writing stores Float32 tensors as **F32**, except tensors whose name ends in
/// `num_batches_tracked`, which are stored as **I64** (their values must be integers) so that
/// a saved state dict has exactly the dtypes of a PyTorch `state_dict()`. Header keys are
/// sorted; data is laid out as the reference implementation does it (wider dtypes first, then
/// by name), and the header is padded with spaces to a multiple of 8 bytes so the data is
/// 8-byte aligned. Files are written atomically: to a temporary file in the same directory,
/// fsynced, then renamed over the target.
public enum SafeTensors {
    /// Largest accepted header, as in the reference implementation (100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// The dtype a tensor of this name is written with: I64 for `*num_batches_tracked`, else F32.
    public static func storageDType(forName name: String) -> SafeTensorsDType {
        name.hasSuffix("num_batches_tracked") ? .i64 : .f32
    }

    /// Reads and validates a file.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        let file = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CheckpointError.io(file: file, operation: "read the file", reason: CheckpointError.reason(for: error))
        }
        return try decode(data, source: file)
    }

    /// Decodes and validates the bytes of a safetensors file; `source` names it in errors.
    public static func decode(_ data: Data, source: String = "<memory>") throws -> SafeTensorsFile {
        try data.withUnsafeBytes { try decode(bytes: $0, source: source) }
    }

    /// The bytes of a safetensors file holding `tensors` and `metadata` (see the type's notes).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                              source: String = "<memory>") throws -> Data {
        let plan = try makePlan(tensors, metadata: metadata, source: source)
        var sink = DataSink()
        try emit(plan, into: &sink)
        return sink.data
    }

    /// Writes `tensors` and `metadata` to `url` atomically (see the type's notes).
    public static func write(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        let plan = try makePlan(tensors, metadata: metadata, source: url.path)
        try writeAtomically(to: url) { sink in try emit(plan, into: &sink) }
    }
}

/// Reads a safetensors file as Float32 tensors by name (other dtypes converted; see
/// ``SafeTensorsFile``). Use ``SafeTensors/read(from:)`` for the metadata and stored dtypes.
public func loadSafeTensors(from url: URL) throws -> [String: Tensor] {
    try SafeTensors.read(from: url).tensors
}

/// Writes tensors by name to a safetensors file atomically (F32; I64 for `*num_batches_tracked`).
public func saveSafeTensors(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
    try SafeTensors.write(tensors, to: url, metadata: metadata)
}
