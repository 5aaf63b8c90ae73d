import TensorCore

/// Whether layers run in training mode (batch statistics, dropout, spectral-norm power
/// iteration) or evaluation mode. A task-local value, so a scope affects only its own work.
public enum LearningPhase: Sendable {
    case training, inference

    @TaskLocal public static var current: LearningPhase = .inference

    /// Whether the current phase is training.
    public static var isTraining: Bool { current == .training }
}

/// Runs `body` in training mode.
@inlinable public func training<R>(_ body: () throws -> R) rethrows -> R {
    try LearningPhase.$current.withValue(.training, operation: body)
}

/// Runs `body` in evaluation mode.
@inlinable public func inference<R>(_ body: () throws -> R) rethrows -> R {
    try LearningPhase.$current.withValue(.inference, operation: body)
}

/// A neural-network layer: a function of a tensor with named trainable parameters and buffers.
///
/// Traversal is explicit (DESIGN.md §3): ``visit(_:)`` names every parameter, buffer and child
/// layer, in a fixed order, with PyTorch's state-dict names (`weight`, `bias`,
/// `running_mean`, …). That order keys optimiser state and checkpoints. Layers are classes
/// whose tensors are updated in place by optimisers and checkpoint loading.
public protocol Layer: AnyObject {
    /// The layer's output for a batch `x`; the phase comes from ``LearningPhase/current``.
    func callAsFunction(_ x: Tensor) -> Tensor
    /// Names this layer's own parameters and buffers, and its children.
    func visit(_ visitor: inout TensorVisitor)
}

/// The role of a tensor inside a layer.
public enum TensorRole: Sendable {
    /// Trainable: receives gradients and optimiser updates.
    case parameter
    /// State that is saved and loaded but not trained (running statistics, power-iteration vectors).
    case buffer
}

/// A named tensor of a layer tree, with its dotted path (`layer1.0.conv1.weight`).
public struct NamedTensor {
    public let name: String
    public let tensor: Tensor
    public let role: TensorRole
    /// Optimiser hints: β and γ of the LCNN blocks take no weight decay (SPEC B7).
    public let noWeightDecay: Bool
}

/// Collects the named tensors of a layer tree in traversal order.
public struct TensorVisitor {
    public private(set) var entries: [NamedTensor] = []
    /// Every child layer visited, with its dotted path, in traversal order.
    public private(set) var layers: [(path: String, layer: any Layer)] = []
    private var prefix: [String] = []

    public init() {}

    private func path(_ name: String) -> String { (prefix + [name]).joined(separator: ".") }

    /// A trainable tensor. Set `noWeightDecay` for scale parameters such as log β and log γ.
    public mutating func parameter(_ name: String, _ tensor: Tensor, noWeightDecay: Bool = false) {
        entries.append(NamedTensor(name: path(name), tensor: tensor, role: .parameter, noWeightDecay: noWeightDecay))
    }

    /// A non-trainable tensor that belongs in checkpoints.
    public mutating func buffer(_ name: String, _ tensor: Tensor) {
        entries.append(NamedTensor(name: path(name), tensor: tensor, role: .buffer, noWeightDecay: true))
    }

    /// A child layer, whose tensors are prefixed with `name.`.
    public mutating func child(_ name: String, _ layer: any Layer) {
        prefix.append(name)
        layers.append((prefix.joined(separator: "."), layer))
        layer.visit(&self)
        prefix.removeLast()
    }

    /// Children named by their position (`0`, `1`, …), as `nn.Sequential` names them.
    public mutating func children(_ layers: [any Layer]) {
        for (i, layer) in layers.enumerated() { child(String(i), layer) }
    }
}

extension Layer {
    /// Every named tensor, parameters and buffers, in traversal order.
    public var namedTensors: [NamedTensor] {
        var v = TensorVisitor()
        visit(&v)
        return v.entries
    }

    /// This layer and every layer below it, in traversal order (the root has path "").
    public var allLayers: [(path: String, layer: any Layer)] {
        var v = TensorVisitor()
        visit(&v)
        return [("", self)] + v.layers
    }

    /// Every layer of type `T` in the tree, in traversal order.
    public func sublayers<T: Layer>(of type: T.Type) -> [T] { allLayers.compactMap { $0.layer as? T } }

    /// The trainable tensors in traversal order.
    public var parameters: [Tensor] { namedTensors.filter { $0.role == .parameter }.map(\.tensor) }

    /// Named trainable tensors.
    public var namedParameters: [NamedTensor] { namedTensors.filter { $0.role == .parameter } }

    /// Named buffers.
    public var namedBuffers: [NamedTensor] { namedTensors.filter { $0.role == .buffer } }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Clears the accumulated gradients of every parameter.
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// A forward pass in evaluation mode without recording (for prediction).
    public func predict(_ x: Tensor) -> Tensor { inference { withoutGrad { self(x) } } }
}
