import Foundation

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

extension CheckpointError {
    /// The text of a Foundation or checkpoint error, for the `reason` of an error above.
    static func reason(for error: Error) -> String {
        if let e = error as? CheckpointError { return e.description }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError {
            return "\(ns.localizedDescription) (\(underlying.localizedDescription))"
        }
        return ns.localizedDescription
    }
}
