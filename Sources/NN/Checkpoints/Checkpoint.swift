import Foundation
import TensorCore

/// Checkpoints of a layer tree as safetensors files with PyTorch state-dict names (SPEC §8),
/// so weights move between this toolkit and PyTorch (`safetensors.torch.load_file` followed by
/// `model.load_state_dict(...)`, and back).
///
/// ```swift
/// try model.saveCheckpoint(to: url, metadata: ["epoch": "12"])
/// let metadata = try other.loadCheckpoint(from: url)   // ["epoch": "12"]
/// ```
extension Layer {
    /// Every parameter and buffer by its state-dict name (`conv1.weight`, `bn1.running_mean`,
    /// `layer1.0.conv1.parametrizations.weight.original`, …).
    ///
    /// The tensors share storage with the model (like PyTorch's `state_dict()`): take
    /// `copy()` of them for a snapshot. If two tensors had the same name the first is kept;
    /// ``saveCheckpoint(to:metadata:)`` rejects such a model.
    public func stateDict() -> [String: Tensor] {
        var dict: [String: Tensor] = [:]
        for entry in namedTensors where dict[entry.name] == nil { dict[entry.name] = entry.tensor.detached() }
        return dict
    }

    /// Writes every parameter and buffer to a safetensors file, atomically: F32, except
    /// `*num_batches_tracked`, which is I64 as in a PyTorch state dict (see ``SafeTensors``).
    public func saveCheckpoint(to url: URL, metadata: [String: String] = [:]) throws {
        var dict: [String: Tensor] = [:]
        for entry in namedTensors {
            guard dict[entry.name] == nil else {
                throw CheckpointError.invalidName(file: url.path, name: entry.name,
                                                  reason: "two tensors of the model have this name")
            }
            dict[entry.name] = entry.tensor
        }
        try SafeTensors.write(dict, to: url, metadata: metadata)
    }

    /// Loads a checkpoint written by ``saveCheckpoint(to:metadata:)`` or by PyTorch
    /// (`safetensors.torch.save_file(model.state_dict(), path)`) into this model, in place,
    /// and returns the file's metadata.
    ///
    /// Every name, shape and dtype is checked first, and one ``CheckpointError/stateDictMismatch(file:mismatch:)``
    /// lists all the differences; nothing is assigned unless everything fits, so a failed
    /// load leaves the model untouched.
    ///
    /// - `strict: true` (the default): the names must match exactly; missing and unexpected
    ///   keys are errors. `strict: false` loads the tensors both sides have and ignores the
    ///   rest (as PyTorch's `load_state_dict(strict=False)`); shape and dtype mismatches are
    ///   errors either way.
    /// - values: a tensor holding NaN or ±∞ is refused (``CheckpointError/nonFiniteValues(file:tensor:count:total:)``).
    /// - dtypes: floating-point tensors accept F32, F16, BF16 and F64 data (converted to
    ///   Float32); `*num_batches_tracked` accepts integer data (I64 in PyTorch). Anything else
    ///   (integers for a weight, floats for a counter, BOOL) is a dtype mismatch.
    @discardableResult
    public func loadCheckpoint(from url: URL, strict: Bool = true) throws -> [String: String] {
        let file = try SafeTensors.read(from: url)
        try load(file.tensors, dtypes: file.dtypes, strict: strict, source: url.path)
        return file.metadata
    }

    /// Loads tensors by state-dict name into this model in place, with the name, shape and
    /// finiteness checks of ``loadCheckpoint(from:strict:)`` (in-memory tensors have no stored
    /// dtype); `source` names them in errors (the file they were read from).
    public func loadStateDict(_ tensors: [String: Tensor], strict: Bool = true, source: String = "<state dict>") throws {
        try load(tensors, dtypes: [:], strict: strict, source: source)
    }

    /// The differences between this model and tensors by name, with their stored dtypes
    /// (tensors without an entry in `dtypes` are in-memory Float32 data and not dtype-checked);
    /// empty when they fit.
    public func stateDictMismatch(_ tensors: [String: Tensor], dtypes: [String: SafeTensorsDType] = [:],
                                  strict: Bool = true) -> StateDictMismatch {
        var mismatch = StateDictMismatch()
        let model = namedTensors
        var modelNames = Set<String>()
        for entry in model {
            modelNames.insert(entry.name)
            guard let loaded = tensors[entry.name] else {
                if strict { mismatch.missing.append(entry.name) }
                continue
            }
            if loaded.shape != entry.tensor.shape {
                mismatch.shapeMismatches.append(.init(name: entry.name, checkpoint: loaded.shape, model: entry.tensor.shape))
            }
            guard let stored = dtypes[entry.name] else { continue }
            let expected = SafeTensors.storageDType(forName: entry.name)
            let fits = expected.isInteger ? stored.isInteger : stored.isFloatingPoint
            if !fits {
                mismatch.dtypeMismatches.append(.init(name: entry.name, checkpoint: stored, model: expected))
            }
        }
        if strict { mismatch.unexpected = tensors.keys.filter { !modelNames.contains($0) }.sorted() }
        return mismatch
    }

    private func load(_ tensors: [String: Tensor], dtypes: [String: SafeTensorsDType], strict: Bool,
                      source: String) throws {
        let mismatch = stateDictMismatch(tensors, dtypes: dtypes, strict: strict)
        guard mismatch.isEmpty else { throw CheckpointError.stateDictMismatch(file: source, mismatch: mismatch) }
        for entry in namedTensors {
            if let loaded = tensors[entry.name], let bad = loaded.nonFiniteCount() {
                throw CheckpointError.nonFiniteValues(file: source, tensor: entry.name, count: bad, total: loaded.count)
            }
        }
        // Validated: now assign, in place, keeping every tensor's identity.
        for entry in namedTensors {
            if let loaded = tensors[entry.name], loaded.storage !== entry.tensor.storage { entry.tensor.assign(loaded) }
        }
    }
}

extension Tensor {
    /// The number of NaN or infinite elements, or nil when every element is finite.
    public func nonFiniteCount() -> Int? {
        let bad = withUnsafeBufferPointer { values in values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
        return bad == 0 ? nil : bad
    }
}
