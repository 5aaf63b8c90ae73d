import CZlib

/// A minimal PNG writer: 8-bit RGB (colour type 2) when every pixel is opaque, else RGBA
/// (colour type 6); each row filtered with None, Sub or Up (whichever has the smallest sum of
/// absolute differences); IDAT compressed with zlib's `compress2`; chunk CRCs from zlib's `crc32`.
public enum PNGEncoder {
    public static func encode(_ image: RasterImage) throws -> [UInt8] {
        let w = image.width, h = image.height
        guard w > 0, h > 0, image.pixels.count == w * h * 4 else {
            throw PlotError.encoding("image \(w)×\(h) with \(image.pixels.count) bytes cannot be encoded")
        }
        let opaque = stride(from: 3, to: image.pixels.count, by: 4).allSatisfy { image.pixels[$0] == 255 }
        let channels = opaque ? 3 : 4
        let rowBytes = w * channels
        var raw = [UInt8](repeating: 0, count: h * (rowBytes + 1))
        image.pixels.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 * rowBytes)
                defer { scratch.deallocate() }
                var previous = scratch, current = scratch + rowBytes
                let sub = scratch + 2 * rowBytes, up = scratch + 3 * rowBytes
                previous.initialize(repeating: 0, count: rowBytes)
                let pixels = src.baseAddress!
                for y in 0..<h {
                    let row = pixels + y * w * 4
                    if channels == 4 {
                        current.update(from: row, count: rowBytes)
                    } else {
                        for x in 0..<w {
                            current[x * 3] = row[x * 4]
                            current[x * 3 + 1] = row[x * 4 + 1]
                            current[x * 3 + 2] = row[x * 4 + 2]
                        }
                    }
                    var costNone = 0, costSub = 0, costUp = 0
                    for i in 0..<rowBytes {
                        let left = i >= channels ? current[i - channels] : 0
                        sub[i] = current[i] &- left
                        up[i] = current[i] &- previous[i]
                        costNone += abs(Int(Int8(bitPattern: current[i])))
                        costSub += abs(Int(Int8(bitPattern: sub[i])))
                        costUp += abs(Int(Int8(bitPattern: up[i])))
                    }
                    let (filter, chosen): (UInt8, UnsafeMutablePointer<UInt8>) =
                        costSub <= costUp && costSub <= costNone ? (1, sub) : costUp <= costNone ? (2, up) : (0, current)
                    let out = dst.baseAddress! + y * (rowBytes + 1)
                    out[0] = filter
                    (out + 1).update(from: chosen, count: rowBytes)
                    swap(&previous, &current)
                }
            }
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compress2(&compressed, &compressedLength, raw, uLong(raw.count), 6)
        guard status == Z_OK else { throw PlotError.encoding("zlib compress2 returned \(status)") }
        compressed.removeSubrange(Int(compressedLength)...)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += bigEndian(UInt32(w))
        header += bigEndian(UInt32(h))
        header += [8, opaque ? 2 : 6, 0, 0, 0]
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", compressed, to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        var crc = crc32(0, typeBytes, uInt(typeBytes.count))
        if !data.isEmpty { crc = crc32(crc, data, uInt(data.count)) }
        png += bigEndian(UInt32(crc))
    }
}
