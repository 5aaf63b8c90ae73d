import Foundation
import TensorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Format
//
// A safetensors file (https://github.com/huggingface/safetensors) is
//
//     [8 bytes: N, unsigned little-endian]
//     [N bytes: UTF-8 JSON object, possibly padded at the end with spaces]
//     [data: the raw little-endian tensor bytes]
//
// The JSON maps each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets relative to the start of the data, end exclusive), plus an optional
// "__metadata__" object of string → string. Like the reference (Rust) implementation, the
// reader requires the tensors to tile the data exactly: sorted by offset, each starts where the
// previous one ends, the last one ends at the end of the file, and each holds exactly
// product(shape) × size(dtype) bytes.

/// The element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case u16 = "U16", i16 = "I16"
    case u32 = "U32", i32 = "I32"
    case u64 = "U64", i64 = "I64"
    case f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0"
    case c64 = "C64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e8m0: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64, .c64: return 8
        }
    }

    /// Whether this reader can convert the type to Float32. The 8-bit floats and complex
    /// numbers are recognised but not supported.
    public var isReadable: Bool {
        switch self {
        case .f8e4m3, .f8e5m2, .f8e8m0, .c64: return false
        default: return true
        }
    }

    /// Floating-point types (a model's Float32 tensors accept these, with conversion).
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2, .f8e8m0: return true
        default: return false
        }
    }

    /// Integer types (PyTorch's `num_batches_tracked` is I64).
    public var isInteger: Bool {
        switch self {
        case .u8, .i8, .u16, .i16, .u32, .i32, .u64, .i64: return true
        default: return false
        }
    }

    /// Alignment rank used to order tensors in the data section, as the reference
    /// implementation does (wider types first, so every tensor stays aligned).
    fileprivate var layoutRank: Int { byteSize }
}

/// Where one tensor lives in a safetensors file, as its header describes it.
public struct SafeTensorsEntry: Sendable, Equatable {
    public var name: String
    /// The type stored in the file (the loaded ``Tensor`` is always Float32).
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range within the data section.
    public var dataOffsets: Range<Int>
}

/// The decoded contents of a safetensors file.
///
/// Every tensor is returned as Float32. Tensors stored with another type are **converted**:
/// F16 and BF16 exactly; F64 by rounding to nearest (values beyond Float's range become ±∞);
/// integer and BOOL types by value (integers above 2²⁴ in magnitude may round). ``dtypes``
/// keeps the stored type of every tensor, ``convertedNames`` lists the tensors that were not
/// F32 in the file, and ``lossyConversions`` those where some value did not survive exactly.
public struct SafeTensorsFile: Sendable {
    /// The tensors, by name, as Float32.
    public var tensors: [String: Tensor]
    /// The header entries, by name.
    public var entries: [String: SafeTensorsEntry]
    /// The `__metadata__` map (empty when absent).
    public var metadata: [String: String]
    /// Tensor names in the order their data appears in the file.
    public var names: [String]
    /// Names of tensors where at least one value changed in the conversion to Float32.
    public var lossyConversions: [String]

    /// The stored type of each tensor.
    public var dtypes: [String: SafeTensorsDType] { entries.mapValues(\.dtype) }
    /// Names of tensors that were stored as something other than F32 and converted, in file order.
    public var convertedNames: [String] { names.filter { entries[$0]?.dtype != .f32 } }
}

/// Errors of reading and writing safetensors files and checkpoints. Every message names the
/// file (or `<memory>`) and the problem.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file is shorter than the 8-byte header length.
    case fileTooShort(file: String, size: Int)
    /// The header length points past the end of the file.
    case headerLengthBeyondFile(file: String, headerLength: UInt64, fileSize: Int)
    /// The header length exceeds ``SafeTensors/maximumHeaderLength``.
    case headerTooLarge(file: String, headerLength: UInt64)
    /// The header is not valid UTF-8 JSON.
    case invalidJSON(file: String, reason: String)
    /// The header is JSON but not of the expected form.
    case invalidHeader(file: String, reason: String)
    /// A name appears twice in the header.
    case duplicateEntry(file: String, name: String)
    /// A tensor's dtype is not a safetensors dtype.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A tensor's dtype is recognised but cannot be converted to Float32 (8-bit floats, C64).
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor's shape is not a list of non-negative integers, or is too large.
    case invalidShape(file: String, tensor: String, reason: String)
    /// A tensor's data offsets are malformed, out of range, overlapping, leave gaps, or do not
    /// match shape × dtype size.
    case invalidOffsets(file: String, tensor: String, reason: String)
    /// Reading, writing or renaming failed.
    case io(file: String, operation: String, reason: String)
    /// A tensor name cannot be written (empty, or `__metadata__`), or occurs twice in a model.
    case invalidName(file: String, name: String, reason: String)
    /// A value cannot be stored in the integer type its tensor is written with.
    case notIntegral(file: String, tensor: String, value: Float)
    /// The checkpoint does not fit the model; lists every difference.
    case stateDictMismatch(file: String, mismatch: StateDictMismatch)
    /// A model tensor holds NaN or infinite values (a diverged or corrupted run): loading it
    /// would give a model that answers garbage without a word.
    case nonFiniteValues(file: String, tensor: String, count: Int, total: Int)

    public var description: String {
        switch self {
        case let .fileTooShort(file, size):
            return "\(file): file is \(size) bytes, too short for a safetensors file (needs at least the 8-byte header length)"
        case let .headerLengthBeyondFile(file, n, size):
            return "\(file): header length \(n) goes beyond the end of the file (\(size) bytes, so at most \(max(0, size - 8)) header bytes)"
        case let .headerTooLarge(file, n):
            return "\(file): header length \(n) exceeds the limit of \(SafeTensors.maximumHeaderLength) bytes"
        case let .invalidJSON(file, reason):
            return "\(file): header is not valid JSON: \(reason)"
        case let .invalidHeader(file, reason):
            return "\(file): invalid header: \(reason)"
        case let .duplicateEntry(file, name):
            return "\(file): header names \"\(name)\" more than once"
        case let .unknownDType(file, tensor, dtype):
            return "\(file): tensor \"\(tensor)\" has unknown dtype \"\(dtype)\" (known: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor \"\(tensor)\" has dtype \(dtype), which cannot be converted to Float32"
        case let .invalidShape(file, tensor, reason):
            return "\(file): tensor \"\(tensor)\" has an invalid shape: \(reason)"
        case let .invalidOffsets(file, tensor, reason):
            return "\(file): tensor \"\(tensor)\" has invalid data_offsets: \(reason)"
        case let .io(file, operation, reason):
            return "\(file): cannot \(operation): \(reason)"
        case let .invalidName(file, name, reason):
            return "\(file): cannot write tensor name \"\(name)\": \(reason)"
        case let .notIntegral(file, tensor, value):
            return "\(file): tensor \"\(tensor)\" is written as I64 but holds the non-integral value \(value)"
        case let .stateDictMismatch(file, mismatch):
            return "\(file): checkpoint does not match the model (\(mismatch.summary)):\n\(mismatch.details)"
        case let .nonFiniteValues(file, tensor, count, total):
            return "\(file): tensor \"\(tensor)\" holds \(count) NaN or infinite value\(count == 1 ? "" : "s") (of \(total)); "
                + "a model is not loaded from it (the run that wrote it diverged, or the file is corrupted)"
        }
    }

    public var errorDescription: String? { description }
}

/// Every difference between a checkpoint and a model, found before anything is loaded.
public struct StateDictMismatch: Sendable, Equatable {
    /// A tensor present on both sides with different shapes.
    public struct ShapeMismatch: Sendable, Equatable {
        public var name: String
        public var checkpoint: [Int]
        public var model: [Int]
    }
    /// A tensor whose stored type does not fit the model tensor (integer data for a
    /// floating-point parameter, floating-point data for `num_batches_tracked`, BOOL anywhere).
    public struct DTypeMismatch: Sendable, Equatable {
        public var name: String
        public var checkpoint: SafeTensorsDType
        public var model: SafeTensorsDType
    }

    /// Model tensors the checkpoint lacks, in model order.
    public var missing: [String] = []
    /// Checkpoint tensors the model lacks, sorted.
    public var unexpected: [String] = []
    public var shapeMismatches: [ShapeMismatch] = []
    public var dtypeMismatches: [DTypeMismatch] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && dtypeMismatches.isEmpty }

    /// "2 missing, 1 unexpected, 1 shape mismatch".
    public var summary: String {
        var parts: [String] = []
        func plural(_ n: Int, _ word: String, _ words: String) -> String { "\(n) \(n == 1 ? word : words)" }
        if !missing.isEmpty { parts.append(plural(missing.count, "missing key", "missing keys")) }
        if !unexpected.isEmpty { parts.append(plural(unexpected.count, "unexpected key", "unexpected keys")) }
        if !shapeMismatches.isEmpty { parts.append(plural(shapeMismatches.count, "shape mismatch", "shape mismatches")) }
        if !dtypeMismatches.isEmpty { parts.append(plural(dtypeMismatches.count, "dtype mismatch", "dtype mismatches")) }
        return parts.joined(separator: ", ")
    }

    /// One line per difference.
    public var details: String {
        var lines: [String] = []
        if !missing.isEmpty {
            lines.append("  missing keys (in the model, not in the checkpoint): " + missing.joined(separator: ", "))
        }
        if !unexpected.isEmpty {
            lines.append("  unexpected keys (in the checkpoint, not in the model): " + unexpected.joined(separator: ", "))
        }
        if !shapeMismatches.isEmpty {
            lines.append("  shape mismatches:")
            for m in shapeMismatches { lines.append("    \(m.name): checkpoint \(m.checkpoint), model \(m.model)") }
        }
        if !dtypeMismatches.isEmpty {
            lines.append("  dtype mismatches:")
            for m in dtypeMismatches {
                lines.append("    \(m.name): checkpoint \(m.checkpoint.rawValue), model \(m.model.rawValue)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Reading and writing

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
            throw CheckpointError.io(file: file, operation: "read the file", reason: describe(error))
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

// MARK: - Decoding

extension SafeTensors {
    static func decode(bytes: UnsafeRawBufferPointer, source file: String) throws -> SafeTensorsFile {
        let size = bytes.count
        guard size >= 8 else { throw CheckpointError.fileTooShort(file: file, size: size) }
        let n = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard n <= UInt64(size - 8) else {
            throw CheckpointError.headerLengthBeyondFile(file: file, headerLength: n, fileSize: size)
        }
        guard n <= UInt64(maximumHeaderLength) else { throw CheckpointError.headerTooLarge(file: file, headerLength: n) }
        let headerLength = Int(n)
        let header = UnsafeRawBufferPointer(rebasing: bytes[8 ..< 8 + headerLength])
        let dataStart = 8 + headerLength
        let dataLength = size - dataStart

        // The header: UTF-8 JSON object starting with "{" (trailing space padding allowed).
        guard header.first == UInt8(ascii: "{") else {
            throw CheckpointError.invalidHeader(
                file: file, reason: headerLength == 0 ? "header is empty" : "header does not start with \"{\"")
        }
        let headerData = Data(header)
        guard String(data: headerData, encoding: .utf8) != nil else {
            throw CheckpointError.invalidJSON(file: file, reason: "header is not valid UTF-8")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData, options: [])
        } catch {
            throw CheckpointError.invalidJSON(file: file, reason: jsonReason(error))
        }
        guard let top = object as? [String: Any] else {
            throw CheckpointError.invalidHeader(file: file, reason: "header is not a JSON object")
        }
        if let duplicate = firstDuplicateTopLevelKey(header) {
            throw CheckpointError.duplicateEntry(file: file, name: duplicate)
        }

        var metadata: [String: String] = [:]
        var entries: [String: SafeTensorsEntry] = [:]
        for name in top.keys.sorted() {
            let value = top[name]!
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw CheckpointError.invalidHeader(file: file, reason: "\"__metadata__\" is not an object of strings")
                }
                for (k, v) in map {
                    guard let s = v as? String, !(v is NSNumber) else {
                        throw CheckpointError.invalidHeader(
                            file: file, reason: "\"__metadata__\" value of \"\(k)\" is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try parseEntry(name: name, value, dataLength: dataLength, file: file)
        }

        // The tensors must tile the data section exactly.
        let ordered = entries.values.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        var position = 0
        var previous: String?
        for entry in ordered {
            let begin = entry.dataOffsets.lowerBound
            if begin < position {
                throw CheckpointError.invalidOffsets(
                    file: file, tensor: entry.name,
                    reason: "[\(begin), \(entry.dataOffsets.upperBound)] overlaps \"\(previous ?? "")\", which ends at \(position)")
            }
            if begin > position {
                throw CheckpointError.invalidOffsets(
                    file: file, tensor: entry.name,
                    reason: "starts at \(begin), leaving bytes \(position)..<\(begin) of the data unused"
                        + (previous.map { " after \"\($0)\"" } ?? ""))
            }
            position = entry.dataOffsets.upperBound
            previous = entry.name
        }
        if position != dataLength {
            throw CheckpointError.invalidOffsets(
                file: file, tensor: previous ?? "",
                reason: "the tensors cover \(position) bytes of data but the file has \(dataLength) bytes of data")
        }

        // Convert.
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        var tensors: [String: Tensor] = [:]
        var lossy: [String] = []
        for entry in ordered {
            let raw = UnsafeRawBufferPointer(rebasing: data[entry.dataOffsets])
            let count = entry.dataOffsets.count / entry.dtype.byteSize
            let storage = TensorStorage(uninitializedCount: count)
            let out = UnsafeMutableBufferPointer(start: storage.pointer, count: count)
            if !convert(raw, entry.dtype, into: out) { lossy.append(entry.name) }
            tensors[entry.name] = Tensor(shape: entry.shape, storage: storage)
        }
        return SafeTensorsFile(tensors: tensors, entries: entries, metadata: metadata,
                               names: ordered.map(\.name), lossyConversions: lossy)
    }

    private static func parseEntry(name: String, _ value: Any, dataLength: Int, file: String) throws -> SafeTensorsEntry {
        guard let info = value as? [String: Any] else {
            throw CheckpointError.invalidHeader(file: file, reason: "entry \"\(name)\" is not an object")
        }
        guard let dtypeValue = info["dtype"] else {
            throw CheckpointError.invalidHeader(file: file, reason: "entry \"\(name)\" has no \"dtype\"")
        }
        guard let dtypeName = dtypeValue as? String, !(dtypeValue is NSNumber) else {
            throw CheckpointError.invalidHeader(file: file, reason: "entry \"\(name)\": \"dtype\" is not a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw CheckpointError.unknownDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard dtype.isReadable else {
            throw CheckpointError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard let shapeValue = info["shape"] else {
            throw CheckpointError.invalidHeader(file: file, reason: "entry \"\(name)\" has no \"shape\"")
        }
        guard let shapeArray = shapeValue as? [Any] else {
            throw CheckpointError.invalidShape(file: file, tensor: name, reason: "\"shape\" is not a list")
        }
        var shape: [Int] = []
        var count = 1
        for extent in shapeArray {
            guard let d = jsonInteger(extent), d >= 0 else {
                throw CheckpointError.invalidShape(
                    file: file, tensor: name, reason: "extent \(extent) is not a non-negative integer")
            }
            shape.append(d)
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw CheckpointError.invalidShape(file: file, tensor: name, reason: "element count of \(shapeArray) overflows")
            }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw CheckpointError.invalidShape(file: file, tensor: name, reason: "byte size of \(shape) overflows")
        }
        guard let offsetsValue = info["data_offsets"] else {
            throw CheckpointError.invalidHeader(file: file, reason: "entry \"\(name)\" has no \"data_offsets\"")
        }
        guard let offsets = offsetsValue as? [Any], offsets.count == 2 else {
            throw CheckpointError.invalidOffsets(file: file, tensor: name, reason: "not a list of two integers")
        }
        guard let begin = jsonInteger(offsets[0]), let end = jsonInteger(offsets[1]), begin >= 0, end >= 0 else {
            throw CheckpointError.invalidOffsets(
                file: file, tensor: name, reason: "\(offsets) are not two non-negative integers")
        }
        guard begin <= end else {
            throw CheckpointError.invalidOffsets(file: file, tensor: name, reason: "begin \(begin) is after end \(end)")
        }
        guard end <= dataLength else {
            throw CheckpointError.invalidOffsets(
                file: file, tensor: name,
                reason: "[\(begin), \(end)] is out of range: the file has \(dataLength) bytes of data")
        }
        guard end - begin == byteCount else {
            throw CheckpointError.invalidOffsets(
                file: file, tensor: name,
                reason: "[\(begin), \(end)] spans \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin ..< end)
    }

    /// A JSON integer (not a boolean, not a number with a fraction or exponent form that
    /// parsed as floating point, within Int's range).
    private static func jsonInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let type = String(cString: number.objCType)
        switch type {
        case "c", "C", "B", "f", "d": return nil           // booleans and floating point
        case "Q", "L", "I", "S":
            let u = number.uint64Value
            return u <= UInt64(Int.max) ? Int(u) : nil
        default:
            return Int(exactly: number.int64Value)
        }
    }

    private static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo["NSDebugDescription"] as? String { return detail }
        return ns.localizedDescription
    }

    /// The first top-level key that occurs twice in a JSON object (JSONSerialization keeps the
    /// last silently). `json` must already be known to parse.
    static func firstDuplicateTopLevelKey(_ json: UnsafeRawBufferPointer) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = 0
        let n = json.count
        while i < n {
            let c = json[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; i += 1
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < n && json[i] != UInt8(ascii: "\"") {
                    i += json[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                i += 1                                          // past the closing quote
                guard depth == 1 else { continue }
                var j = i
                while j < n, [0x20, 0x09, 0x0A, 0x0D].contains(json[j]) { j += 1 }
                guard j < n, json[j] == UInt8(ascii: ":") else { continue }
                let literal = Data(json[start ..< min(i, n)])
                let key = (try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed)) as? String
                    ?? String(decoding: literal, as: UTF8.self)
                if !seen.insert(key).inserted { return key }
            default: i += 1
            }
        }
        return nil
    }

    /// Converts little-endian elements to Float32; returns false if any value changed.
    private static func convert(_ raw: UnsafeRawBufferPointer, _ dtype: SafeTensorsDType,
                                into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        var exact = true
        func each<T: FixedWidthInteger>(_: T.Type, _ body: (T) -> Float) {
            for k in 0 ..< out.count {
                out[k] = body(T(littleEndian: raw.loadUnaligned(fromByteOffset: k * MemoryLayout<T>.size, as: T.self)))
            }
        }
        switch dtype {
        case .f32:
            #if _endian(little)
            if let base = raw.baseAddress, !out.isEmpty {
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: base, byteCount: raw.count)
            }
            #else
            each(UInt32.self) { Float(bitPattern: $0) }
            #endif
        case .f16: each(UInt16.self) { halfToFloat($0) }
        case .bf16: each(UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .f64:
            each(UInt64.self) {
                let d = Double(bitPattern: $0)
                let f = Float(d)
                if !d.isNaN && Double(f) != d { exact = false }
                return f
            }
        case .bool: each(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .u8: each(UInt8.self) { Float($0) }
        case .i8: each(Int8.self) { Float($0) }
        case .u16: each(UInt16.self) { Float($0) }
        case .i16: each(Int16.self) { Float($0) }
        case .u32: each(UInt32.self) { x in let f = Float(x); if UInt32(exactly: f) != x { exact = false }; return f }
        case .i32: each(Int32.self) { x in let f = Float(x); if Int32(exactly: f) != x { exact = false }; return f }
        case .u64: each(UInt64.self) { x in let f = Float(x); if UInt64(exactly: f) != x { exact = false }; return f }
        case .i64: each(Int64.self) { x in let f = Float(x); if Int64(exactly: f) != x { exact = false }; return f }
        case .f8e4m3, .f8e5m2, .f8e8m0, .c64:             // rejected by parseEntry
            out.initialize(repeating: 0)
        }
        return exact
    }

    /// IEEE binary16 → binary32 (exact).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {                                  // zero or subnormal: mantissa × 2⁻²⁴
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }
}

// MARK: - Encoding

extension SafeTensors {
    struct PlannedTensor {
        let name: String
        let dtype: SafeTensorsDType
        let tensor: Tensor
        let begin: Int
        let end: Int
    }

    struct Plan {
        let header: [UInt8]
        let tensors: [PlannedTensor]
    }

    /// Validates names and values and lays out the file.
    static func makePlan(_ tensors: [String: Tensor], metadata: [String: String], source file: String) throws -> Plan {
        var items: [(name: String, dtype: SafeTensorsDType, tensor: Tensor)] = []
        for (name, tensor) in tensors {
            guard !name.isEmpty else { throw CheckpointError.invalidName(file: file, name: name, reason: "empty name") }
            guard name != "__metadata__" else {
                throw CheckpointError.invalidName(file: file, name: name, reason: "reserved for the metadata")
            }
            let dtype = storageDType(forName: name)
            if dtype == .i64 {
                try tensor.withUnsafeBufferPointer { values in
                    for v in values where Int64(exactly: v) == nil {
                        throw CheckpointError.notIntegral(file: file, tensor: name, value: v)
                    }
                }
            }
            items.append((name, dtype, tensor))
        }
        // The reference layout: wider dtypes first (keeps alignment), then by name.
        items.sort { ($0.dtype.layoutRank, $1.name) > ($1.dtype.layoutRank, $0.name) }

        var planned: [PlannedTensor] = []
        var header: [String: Any] = [:]
        var offset = 0
        for item in items {
            let end = offset + item.tensor.count * item.dtype.byteSize
            planned.append(PlannedTensor(name: item.name, dtype: item.dtype, tensor: item.tensor, begin: offset, end: end))
            header[item.name] = ["dtype": item.dtype.rawValue, "shape": item.tensor.shape, "data_offsets": [offset, end]] as [String: Any]
            offset = end
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json: [UInt8]
        do {
            json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            throw CheckpointError.invalidHeader(file: file, reason: "cannot encode the header: \(describe(error))")
        }
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        guard json.count <= maximumHeaderLength else {
            throw CheckpointError.headerTooLarge(file: file, headerLength: UInt64(json.count))
        }
        return Plan(header: json, tensors: planned)
    }

    static func emit<S: ByteSink>(_ plan: Plan, into sink: inout S) throws {
        var length = UInt64(plan.header.count).littleEndian
        try withUnsafeBytes(of: &length) { try sink.write($0) }
        try plan.header.withUnsafeBytes { try sink.write($0) }
        let chunk = 16384
        for item in plan.tensors {
            try item.tensor.withUnsafeBufferPointer { values in
                switch item.dtype {
                case .i64:
                    var buffer = [Int64](repeating: 0, count: min(chunk, values.count))
                    var k = 0
                    while k < values.count {
                        let m = min(chunk, values.count - k)
                        for j in 0 ..< m { buffer[j] = Int64(values[k + j]).littleEndian }
                        try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0 ..< m * 8])) }
                        k += m
                    }
                default:
                    #if _endian(little)
                    try sink.write(UnsafeRawBufferPointer(values))
                    #else
                    var buffer = [UInt32](repeating: 0, count: min(chunk, values.count))
                    var k = 0
                    while k < values.count {
                        let m = min(chunk, values.count - k)
                        for j in 0 ..< m { buffer[j] = values[k + j].bitPattern.littleEndian }
                        try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0 ..< m * 4])) }
                        k += m
                    }
                    #endif
                }
            }
        }
    }
}

// MARK: - Output

protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

struct DataSink: ByteSink {
    var data = Data()
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { data.append(contentsOf: bytes) }
}

struct FileDescriptorSink: ByteSink {
    let fd: Int32
    let path: String
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            #if canImport(Darwin)
            let written = Darwin.write(fd, base, remaining)
            #elseif canImport(Glibc)
            let written = Glibc.write(fd, base, remaining)
            #else
            let written = Musl.write(fd, base, remaining)
            #endif
            if written < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.io(file: path, operation: "write the temporary file", reason: errnoString())
            }
            remaining -= written
            base += written
        }
    }
}

private func errnoString(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

private func describe(_ error: Error) -> String {
    if let e = error as? CheckpointError { return e.description }
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError {
        return "\(ns.localizedDescription) (\(underlying.localizedDescription))"
    }
    return ns.localizedDescription
}

/// Writes a file through `body` into a temporary file next to `url`, fsyncs it, and renames it
/// over `url`. On any failure the temporary file is removed and `url` is left as it was.
func writeAtomically(to url: URL, _ body: (inout FileDescriptorSink) throws -> Void) throws {
    let target = url.path
    let directory = url.deletingLastPathComponent().path
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))").path
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        let reason = errnoString()
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
        throw CheckpointError.io(
            file: target, operation: "create a temporary file in \(directory)",
            reason: exists && isDirectory.boolValue ? reason : "\(reason) (the directory does not exist)")
    }
    var closed = false
    do {
        var sink = FileDescriptorSink(fd: fd, path: target)
        try body(&sink)
        guard fsync(fd) == 0 else {
            throw CheckpointError.io(file: target, operation: "fsync the temporary file", reason: errnoString())
        }
        closed = true
        guard close(fd) == 0 else {
            throw CheckpointError.io(file: target, operation: "close the temporary file", reason: errnoString())
        }
        guard rename(temporary, target) == 0 else {
            throw CheckpointError.io(file: target, operation: "rename the temporary file into place", reason: errnoString())
        }
    } catch {
        if !closed { close(fd) }
        unlink(temporary)
        throw error
    }
    // Make the rename durable (best effort: some file systems refuse fsync on directories).
    let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
    if directoryFD >= 0 {
        _ = fsync(directoryFD)
        close(directoryFD)
    }
}
