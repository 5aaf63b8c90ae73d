import CZlib

/// gzip decompression with zlib, for dataset files shipped as `.gz`.
///
/// A gzip file (RFC 1952) starts with the bytes `1f 8b`; ``isCompressed(_:)`` looks for them,
/// so callers detect compression from the contents, not the file name. ``inflate(_:file:limit:)``
/// streams the data through zlib's `inflate` (initialised with `inflateInit2(windowBits: 15 + 32)`,
/// which accepts gzip and zlib headers and checks the gzip CRC-32 and length trailer) in 1 MiB
/// chunks, and stops with an error as soon as the output passes `limit` bytes, so a corrupt or
/// hostile file cannot exhaust memory. Concatenated gzip members (as `cat a.gz b.gz` makes) are
/// decompressed one after another; trailing zero padding is ignored, other trailing bytes are an
/// error.
enum Gzip {
    /// The most bytes a file may decompress to by default (1 GiB; the largest dataset file read,
    /// CIFAR-100's training batch, is 150 MB).
    static let defaultLimit = 1 << 30

    /// Whether `bytes` starts with the gzip magic `1f 8b`.
    static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The decompressed contents of the gzip data `bytes`; errors name `file`.
    static func inflate(_ bytes: [UInt8], file: String, limit: Int = defaultLimit) throws -> [UInt8] {
        guard bytes.count <= Int(UInt32.max) else {
            throw DatasetError(file: file, problem: "compressed file of \(bytes.count) bytes is too large")
        }
        var stream = z_stream()
        guard czlib_inflateInit2(&stream, 15 + 32) == Z_OK else {
            throw DatasetError(file: file, problem: "zlib could not start decompressing (inflateInit2 failed)")
        }
        defer { inflateEnd(&stream) }

        let chunk = 1 << 20
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, bytes.count * 4) + 1)
        var buffer = [UInt8](repeating: 0, count: chunk)

        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(chunk)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                if produced > 0 {
                    guard output.count + produced <= limit else {
                        throw DatasetError(file: file, problem:
                            "gzip stream decompresses to more than \(limit) bytes (the size limit); the file is corrupt or not a dataset")
                    }
                    output.append(contentsOf: buffer[0..<produced])
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let offset = input.count - Int(stream.avail_in)
                    if offset == input.count { return }
                    if input.count - offset >= 2 && input[offset] == 0x1f && input[offset + 1] == 0x8b {
                        guard inflateReset(&stream) == Z_OK else {
                            throw DatasetError(file: file, problem: "zlib could not start the next gzip member")
                        }
                        continue
                    }
                    if input[offset...].allSatisfy({ $0 == 0 }) { return }
                    throw DatasetError(file: file, problem:
                        "\(input.count - offset) bytes of trailing data after the gzip stream (at byte \(offset))")
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw DatasetError(file: file, problem:
                        "truncated gzip stream: the compressed data ends early (after \(output.count) decompressed bytes)")
                case Z_BUF_ERROR:
                    continue
                case Z_MEM_ERROR:
                    throw DatasetError(file: file, problem: "zlib ran out of memory while decompressing")
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DatasetError(file: file, problem: "corrupt gzip stream: \(detail)")
                }
            }
        }
        return output
    }

    /// `bytes` compressed as one gzip member (used by tests to write `.gz` fixtures).
    static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        precondition(czlib_deflateInit2(&stream, level, 15 + 16) == Z_OK, "deflateInit2 failed")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(bytes.count))) + 64
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { inp -> Int in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate did not finish (\(status))")
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<written])
    }
}
