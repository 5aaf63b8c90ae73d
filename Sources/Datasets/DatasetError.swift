/// The error every loader in this module throws: a file (or directory) and what is wrong with it.
///
/// The description reads `FILE: PROBLEM`, for example
/// `train-images-idx3-ubyte.gz: bad magic number 0x00000802, expected 0x00000803 for images`,
/// so a command-line tool can print it as it is. `file` is the path as the loader was given it
/// (directory joined with the file name).
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, in general terms (for callers that branch on it; the message is in `problem`).
    public enum Kind: String, Sendable, Equatable {
        /// A file or a whole dataset is missing, or could not be opened.
        case notFound
        /// The bytes do not follow the format: bad magic number, wrong sizes, truncation,
        /// a corrupt gzip stream.
        case malformed
        /// The file is well formed but its contents are invalid (labels out of range) or
        /// inconsistent with a companion file (image and label counts differ).
        case invalidContents
    }

    /// The file (or directory) concerned.
    public let file: String
    /// What is wrong with it, in words.
    public let problem: String
    public let kind: Kind

    public init(file: String, problem: String, kind: Kind = .malformed) {
        self.file = file
        self.problem = problem
        self.kind = kind
    }

    public var description: String { "\(file): \(problem)" }
}

/// `0x00000803`-style hexadecimal, eight digits.
func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
