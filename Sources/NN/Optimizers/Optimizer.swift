import TensorCore

/// A first-order optimiser over a fixed list of named parameters (DESIGN.md §3).
///
/// Usage per mini-batch: `opt.zeroGrad()`, `loss.backward()`, `opt.step()`. Parameters whose
/// `grad` is nil at ``step()`` are skipped, their state untouched (PyTorch semantics).
///
/// ``stateTensors()`` names the state for checkpoints with PyTorch-like keys keyed by the
/// parameter names of the layer tree: `"step"` (number of ``step()`` calls) and
/// `"state.<parameter name>.<slot>"` with slots `momentum_buffer` (SGD), `exp_avg`,
/// `exp_avg_sq`, `max_exp_avg_sq` (AMSGrad) and `step` (Adam, AdamW). ``loadState(_:)``
/// replaces all state with such a dictionary, so training continues identically.
public protocol Optimizer: AnyObject {
    /// The base learning rate; each parameter group scales it by its
    /// ``ParameterGroup/learningRateScale``. Schedules set it once per epoch.
    var learningRate: Float { get set }
    /// Updates every parameter that has a gradient, in place, without recording.
    func step()
    /// Clears the gradients of every parameter (sets them to nil, as PyTorch's
    /// `zero_grad(set_to_none=True)`).
    func zeroGrad()
    /// Copies of the optimiser state, for checkpoints.
    func stateTensors() -> [String: Tensor]
    /// Replaces the optimiser state by one written by ``stateTensors()`` of an optimiser of
    /// the same kind over parameters of the same names and shapes. Validates everything
    /// before changing anything.
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    /// Sets ``learningRate`` to the schedule's value for `epoch` (zero-based).
    public func updateLearningRate(from schedule: some LearningRateSchedule, epoch: Int) {
        learningRate = schedule.learningRate(epoch: epoch)
    }
}

/// Parameters that share a weight decay and a learning-rate multiplier (PyTorch's
/// `param_groups`).
public struct ParameterGroup {
    public var parameters: [NamedTensor]
    /// L2 penalty coefficient (SGD, Adam: added to the gradient; AdamW: decoupled).
    public var weightDecay: Float
    /// Multiplies the optimiser's ``Optimizer/learningRate`` for this group.
    public var learningRateScale: Float

    public init(parameters: [NamedTensor], weightDecay: Float = 0, learningRateScale: Float = 1) {
        precondition(weightDecay >= 0, "ParameterGroup: weight decay must be non-negative")
        precondition(learningRateScale >= 0, "ParameterGroup: learning-rate scale must be non-negative")
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// The groups the convenience initialisers build: parameters marked `noWeightDecay`
    /// (log β, log γ; SPEC B7) in a group with weight decay 0, all others with
    /// `weightDecay`. With `decayAll` every parameter is decayed (PyTorch's default, which the
    /// benchmark peers use). Buffers (`role == .buffer`) are left out. Empty groups are
    /// omitted; the decayed group comes first.
    public static func split(_ parameters: [NamedTensor], weightDecay: Float, decayAll: Bool = false) -> [ParameterGroup] {
        let trainable = parameters.filter { $0.role == .parameter }
        if decayAll || weightDecay == 0 {
            return [ParameterGroup(parameters: trainable, weightDecay: weightDecay)]
        }
        let decayed = trainable.filter { !$0.noWeightDecay }
        let exempt = trainable.filter { $0.noWeightDecay }
        var groups: [ParameterGroup] = []
        if !decayed.isEmpty { groups.append(ParameterGroup(parameters: decayed, weightDecay: weightDecay)) }
        if !exempt.isEmpty { groups.append(ParameterGroup(parameters: exempt, weightDecay: 0)) }
        return groups
    }
}

/// Why ``Optimizer/loadState(_:)`` refused a state dictionary.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unexpectedKey(String)
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case invalidStep(key: String, value: Float)

    public var description: String {
        switch self {
        case .missingKey(let k): return "optimizer state: missing key '\(k)'"
        case .unexpectedKey(let k): return "optimizer state: unexpected key '\(k)' (different optimizer or parameters?)"
        case .shapeMismatch(let k, let e, let f): return "optimizer state: '\(k)' has shape \(f), expected \(e)"
        case .invalidStep(let k, let v): return "optimizer state: '\(k)' = \(v) is not a non-negative integer"
        }
    }
}

/// The hyperparameters of one parameter's update at one step.
struct StepContext {
    /// Effective learning rate: base × group scale.
    var learningRate: Float
    var weightDecay: Float
    /// This parameter's step number, counting from 1 (steps at which it had a gradient).
    var step: Int
    /// Whether the state slots were just allocated (zero-filled) for this step.
    var freshState: Bool
}

/// The shared machinery of the optimisers: parameter groups, nil-grad skipping, per-parameter
/// state slots keyed by parameter name, step counting and checkpoint state. A subclass only
/// writes the per-parameter update ``applySingle(parameter:gradient:state:context:)`` (the
/// shape of mlx-swift's `applySingle(gradient:parameter:state:)`, done in place).
public class ParameterOptimizer: Optimizer {
    public var learningRate: Float
    /// The parameter groups, in the order given.
    public let groups: [ParameterGroup]
    /// Number of ``step()`` calls (saved as `"step"`).
    public private(set) var stepCount: Int = 0

    /// Names of the per-parameter state tensors (each the parameter's shape).
    let slotNames: [String]
    /// Whether each parameter's own step count is state (Adam's bias correction).
    let perParameterStep: Bool

    /// Flattened parameters: (group index, named parameter), groups in order.
    let entries: [(group: Int, parameter: NamedTensor)]
    /// Per-entry state slots, nil until the parameter's first gradient.
    var slots: [[Tensor]?]
    /// Per-entry count of steps at which the parameter had a gradient.
    var parameterSteps: [Int]

    init(groups: [ParameterGroup], learningRate: Float, slotNames: [String], perParameterStep: Bool) {
        precondition(learningRate >= 0, "Optimizer: learning rate must be non-negative")
        self.learningRate = learningRate
        self.groups = groups
        self.slotNames = slotNames
        self.perParameterStep = perParameterStep
        var entries: [(group: Int, parameter: NamedTensor)] = []
        var seenNames = Set<String>()
        var seenTensors = Set<ObjectIdentifier>()
        for (g, group) in groups.enumerated() {
            for p in group.parameters {
                precondition(p.role == .parameter, "Optimizer: '\(p.name)' is a buffer, not a parameter")
                precondition(seenNames.insert(p.name).inserted, "Optimizer: parameter name '\(p.name)' appears twice")
                precondition(seenTensors.insert(ObjectIdentifier(p.tensor)).inserted,
                             "Optimizer: the tensor of '\(p.name)' appears twice")
                entries.append((g, p))
            }
        }
        self.entries = entries
        self.slots = Array(repeating: nil, count: entries.count)
        self.parameterSteps = Array(repeating: 0, count: entries.count)
    }

    /// All parameters, in group order.
    public var namedParameters: [NamedTensor] { entries.map(\.parameter) }

    public func step() {
        stepCount += 1
        for i in entries.indices {
            let (g, named) = entries[i]
            let parameter = named.tensor
            guard let gradient = parameter.grad else { continue }
            guard gradient.count == parameter.count else {
                shapeMismatch("Optimizer.step", parameter.shape, gradient.shape,
                              "differ: gradient of '\(named.name)' does not match the parameter")
            }
            parameterSteps[i] += 1
            let fresh = slots[i] == nil
            if fresh { slots[i] = slotNames.map { _ in Tensor.zeros(parameter.shape) } }
            let group = groups[g]
            let context = StepContext(learningRate: learningRate * group.learningRateScale,
                                      weightDecay: group.weightDecay,
                                      step: parameterSteps[i], freshState: fresh)
            applySingle(parameter: parameter, gradient: gradient, state: slots[i]!, context: context)
        }
    }

    /// Updates one parameter in place from its gradient and state slots (in ``slotNames``
    /// order). Subclasses override.
    func applySingle(parameter: Tensor, gradient: Tensor, state: [Tensor], context: StepContext) {
        fatalError("ParameterOptimizer.applySingle must be overridden")
    }

    public func zeroGrad() {
        for (_, p) in entries { p.tensor.grad = nil }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        for i in entries.indices {
            guard let state = slots[i] else { continue }
            let name = entries[i].parameter.name
            for (slot, t) in zip(slotNames, state) { out["state.\(name).\(slot)"] = t.copy() }
            if perParameterStep { out["state.\(name).step"] = Tensor(Float(parameterSteps[i])) }
        }
        return out
    }

    public func loadState(_ state: [String: Tensor]) throws {
        func stepValue(_ key: String) throws -> Int {
            guard let t = state[key] else { throw OptimizerStateError.missingKey(key) }
            guard t.count == 1 else { throw OptimizerStateError.shapeMismatch(key: key, expected: [], found: t.shape) }
            let v = t.scalars[0]
            guard v >= 0, v == v.rounded(), v < 16_777_216 else { throw OptimizerStateError.invalidStep(key: key, value: v) }
            return Int(v)
        }
        let newStepCount = try stepValue("step")
        var used: Set<String> = ["step"]
        var newSlots: [[Tensor]?] = Array(repeating: nil, count: entries.count)
        var newSteps = Array(repeating: 0, count: entries.count)
        for i in entries.indices {
            let p = entries[i].parameter
            let keys = slotNames.map { "state.\(p.name).\($0)" } + (perParameterStep ? ["state.\(p.name).step"] : [])
            let present = keys.filter { state[$0] != nil }
            if present.isEmpty { continue }  // never had a gradient
            if let missing = keys.first(where: { state[$0] == nil }) { throw OptimizerStateError.missingKey(missing) }
            var tensors: [Tensor] = []
            for slot in slotNames {
                let key = "state.\(p.name).\(slot)"
                let t = state[key]!
                guard t.shape == p.tensor.shape else {
                    throw OptimizerStateError.shapeMismatch(key: key, expected: p.tensor.shape, found: t.shape)
                }
                tensors.append(t.copy())
            }
            newSlots[i] = tensors
            newSteps[i] = perParameterStep ? try stepValue("state.\(p.name).step") : newStepCount
            used.formUnion(keys)
        }
        if let extra = state.keys.filter({ !used.contains($0) }).sorted().first {
            throw OptimizerStateError.unexpectedKey(extra)
        }
        stepCount = newStepCount
        slots = newSlots
        parameterSteps = newSteps
    }
}

extension NamedTensor {
    /// A trainable named tensor outside any layer tree, for optimising explicit tensors.
    public static func parameter(_ name: String, _ tensor: Tensor, noWeightDecay: Bool = false) -> NamedTensor {
        NamedTensor(name: name, tensor: tensor, role: .parameter, noWeightDecay: noWeightDecay)
    }
}
