import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The message of an errno value.
func errnoString(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

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
