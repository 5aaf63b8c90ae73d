import Foundation
import TensorCore

// Writing: lays out the file (see SafeTensors) and streams it into a ByteSink.

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
            throw CheckpointError.invalidHeader(file: file, reason: "cannot encode the header: \(CheckpointError.reason(for: error))")
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
