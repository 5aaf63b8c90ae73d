/// A dense, contiguous, row-major Float32 tensor that can record the operations that made it.
///
/// `Tensor` is a final class: its identity keys the gradient map of reverse-mode autodiff
/// (DESIGN.md §2). Operations never mutate their operands; they return new tensors. When
/// gradient recording is on (``GradMode``) and some operand ``requiresGrad``, the result keeps
/// a ``Node`` naming the operation, its inputs and its backward rule, which is itself written
/// in tensor operations so that gradients can be differentiated again.
///
/// ```swift
/// let x = Tensor([1, 2, 3], shape: [3]).requiringGrad()
/// let y = (x * x).sum()
/// let g = gradients(of: y, wrt: [x])[0]   // [2, 4, 6]
/// ```
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// The extent of each axis; `[]` for a scalar.
    public let shape: [Int]
    /// The element buffer, `Shape.count(shape)` floats in row-major order.
    public let storage: TensorStorage
    /// Whether gradients flow to this tensor. Leaves (parameters, inputs) set it explicitly;
    /// results of recorded operations inherit it.
    public internal(set) var requiresGrad: Bool
    /// The operation that produced this tensor, when it was recorded.
    public internal(set) var node: Node?
    /// Accumulated gradient, filled by ``backward(seed:)`` for leaves that require gradients.
    public var grad: Tensor?

    /// Wraps existing storage (no copy).
    public init(shape: [Int], storage: TensorStorage) {
        precondition(Shape.count(shape) == storage.count,
                     "Tensor: shape \(shape) needs \(Shape.count(shape)) elements, storage has \(storage.count)")
        precondition(!shape.contains { $0 < 0 }, "Tensor: negative extent in shape \(shape)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = false
    }

    /// Uninitialised tensor of the given shape (internal: callers must fill every element).
    init(uninitializedShape shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: Shape.count(shape))
        self.requiresGrad = false
    }

    /// A tensor holding `values` with the given shape (defaults to 1-D).
    public convenience init(_ values: [Float], shape: [Int]? = nil) {
        let shape = shape ?? [values.count]
        guard Shape.count(shape) == values.count else {
            fatalError("Tensor(values:shape:): \(values.count) values cannot fill shape \(shape)")
        }
        let storage = TensorStorage(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { storage.pointer.initialize(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: storage)
    }

    /// A scalar tensor (shape `[]`).
    public convenience init(_ scalar: Float) { self.init([scalar], shape: []) }

    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// The values as an array, in row-major order.
    public var scalars: [Float] { storage.array }
    /// The single value of a one-element tensor.
    public var item: Float {
        guard count == 1 else { invalidShape("item", shape, "has \(count) elements, expected 1") }
        return storage.pointer[0]
    }
    /// Whether this tensor was produced by a recorded operation.
    public var isLeaf: Bool { node == nil }

    /// Marks this tensor as a leaf that gradients flow to, and returns it.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        precondition(node == nil || flag, "requiringGrad(false) on a non-leaf tensor; use detached()")
        requiresGrad = flag
        return self
    }

    /// The same values, cut from the graph: no recorded history, no gradient.
    /// The storage is shared (no copy); treat both tensors as immutable afterwards.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A new tensor with a copy of the values and no history.
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        out.storage.pointer.update(from: storage.pointer, count: count)
        return out
    }

    /// Read-only access to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// In-place access to the elements. Only for tensors outside any recorded graph
    /// (parameters during an optimiser step, buffers such as running statistics).
    @inlinable
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Overwrites the values in place with those of `other` (same shape), keeping identity.
    /// Used to load checkpoints and update buffers; never records.
    public func assign(_ other: Tensor) {
        guard other.shape == shape else { shapeMismatch("assign", shape, other.shape, "differ") }
        storage.pointer.update(from: other.storage.pointer, count: count)
    }

    /// The element at a multi-index (for tests and small tensors).
    public subscript(_ index: Int...) -> Float {
        guard index.count == rank else { invalidShape("subscript", shape, "indexed with \(index.count) indices") }
        let strides = Shape.strides(shape)
        var offset = 0
        for (axis, i) in index.enumerated() {
            guard i >= 0 && i < shape[axis] else { invalidShape("subscript", shape, "has no index \(index)") }
            offset += i * strides[axis]
        }
        return storage.pointer[offset]
    }

    /// Releases the recorded history iteratively: letting each Node free its inputs, which free
    /// their Nodes, … nests one `deinit` per recorded op and overflows the stack on deep graphs.
    deinit {
        guard node != nil else { return }
        var pending: [Node] = [node!]
        node = nil
        while var n = pending.popLast() {
            guard isKnownUniquelyReferenced(&n) else { continue }
            var inputs = n.inputs
            n.inputs = []
            for i in inputs.indices where isKnownUniquelyReferenced(&inputs[i]) {
                if let child = inputs[i].node {
                    inputs[i].node = nil
                    pending.append(child)
                }
            }
        }
    }

    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")]"
            + (requiresGrad ? ", requiresGrad" : "") + ")"
    }
}
