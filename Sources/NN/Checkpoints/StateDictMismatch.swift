/// Every difference between a checkpoint and a model, found before anything is loaded.
public struct StateDictMismatch: Sendable, Equatable {
    /// A tensor present on both sides with different shapes.
    public struct ShapeMismatch: Sendable, Equatable {
        public var name: String
        public var checkpoint: [Int]
        public var model: [Int]
    }
    /// A tensor whose stored type does not fit the model tensor (integer data for a
    /// floating-point parameter, floating-point data for `num_batches_tracked`, BOOL anywhere).
    public struct DTypeMismatch: Sendable, Equatable {
        public var name: String
        public var checkpoint: SafeTensorsDType
        public var model: SafeTensorsDType
    }

    /// Model tensors the checkpoint lacks, in model order.
    public var missing: [String] = []
    /// Checkpoint tensors the model lacks, sorted.
    public var unexpected: [String] = []
    public var shapeMismatches: [ShapeMismatch] = []
    public var dtypeMismatches: [DTypeMismatch] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && dtypeMismatches.isEmpty }

    /// "2 missing, 1 unexpected, 1 shape mismatch".
    public var summary: String {
        var parts: [String] = []
        func plural(_ n: Int, _ word: String, _ words: String) -> String { "\(n) \(n == 1 ? word : words)" }
        if !missing.isEmpty { parts.append(plural(missing.count, "missing key", "missing keys")) }
        if !unexpected.isEmpty { parts.append(plural(unexpected.count, "unexpected key", "unexpected keys")) }
        if !shapeMismatches.isEmpty { parts.append(plural(shapeMismatches.count, "shape mismatch", "shape mismatches")) }
        if !dtypeMismatches.isEmpty { parts.append(plural(dtypeMismatches.count, "dtype mismatch", "dtype mismatches")) }
        return parts.joined(separator: ", ")
    }

    /// One line per difference.
    public var details: String {
        var lines: [String] = []
        if !missing.isEmpty {
            lines.append("  missing keys (in the model, not in the checkpoint): " + missing.joined(separator: ", "))
        }
        if !unexpected.isEmpty {
            lines.append("  unexpected keys (in the checkpoint, not in the model): " + unexpected.joined(separator: ", "))
        }
        if !shapeMismatches.isEmpty {
            lines.append("  shape mismatches:")
            for m in shapeMismatches { lines.append("    \(m.name): checkpoint \(m.checkpoint), model \(m.model)") }
        }
        if !dtypeMismatches.isEmpty {
            lines.append("  dtype mismatches:")
            for m in dtypeMismatches {
                lines.append("    \(m.name): checkpoint \(m.checkpoint.rawValue), model \(m.model.rawValue)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
