import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the encoder writes bytes: memory (``DataSink``) or a file descriptor (``FileDescriptorSink``).
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
