import Foundation
import TensorCore

// Reading: validates the header (see SafeTensorsFormat.swift) and converts the data to Float32.

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
}
