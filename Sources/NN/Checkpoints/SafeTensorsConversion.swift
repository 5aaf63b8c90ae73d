// Conversion of stored elements (every readable dtype) to Float32.

extension SafeTensors {
    /// Converts little-endian elements to Float32; returns false if any value changed.
    static func convert(_ raw: UnsafeRawBufferPointer, _ dtype: SafeTensorsDType,
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
