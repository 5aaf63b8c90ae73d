import TensorCore

// The safetensors format: its byte layout, element types and the decoded contents of a file.
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
    var layoutRank: Int { byteSize }
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
