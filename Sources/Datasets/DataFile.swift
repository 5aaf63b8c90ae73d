import Foundation

/// Reading dataset files: whole files into memory, gzip detected from the contents.
enum DataFile {
    /// `directory/name`, or `name` alone when `directory` is empty.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func exists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The names in `directory`, sorted; empty when it cannot be listed.
    static func list(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// The bytes of the file at `path`, exactly as stored.
    static func readRaw(_ path: String) throws -> [UInt8] {
        guard exists(path) else {
            throw DatasetError(file: path, problem: "no such file", kind: .notFound)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, problem: "cannot be read (permission denied?)", kind: .notFound)
        }
        return [UInt8](data)
    }

    /// The contents of the file at `path`, inflated when they are gzip data.
    static func read(_ path: String, limit: Int = Gzip.defaultLimit) throws -> [UInt8] {
        try decode(readRaw(path), file: path, limit: limit)
    }

    /// `bytes` inflated when they start with the gzip magic, as they are otherwise.
    static func decode(_ bytes: [UInt8], file: String, limit: Int = Gzip.defaultLimit) throws -> [UInt8] {
        Gzip.isCompressed(bytes) ? try Gzip.inflate(bytes, file: file, limit: limit) : bytes
    }
}
