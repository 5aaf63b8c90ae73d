/// What a backward rule receives: the gradient of the output, the inputs and the output of
/// the recorded operation, and which inputs need a gradient.
public struct BackwardContext {
    /// ∂L/∂output, with the output's shape.
    public let gradOutput: Tensor
    /// The operation's inputs, in the order they were recorded.
    public let inputs: [Tensor]
    /// The operation's result (its values may be reused by rules such as exp's).
    public let output: Tensor
    /// `needsGrad[i]` is false when no requested gradient depends on input `i`; rules skip those.
    public let needsGrad: [Bool]
}

/// A backward rule: returns ∂L/∂input for each input (nil where not needed or zero).
/// Rules are written in tensor operations, so that with recording on they build a graph
/// that can be differentiated again.
public typealias BackwardRule = (BackwardContext) -> [Tensor?]

/// One recorded operation: the edge from a tensor to the tensors it was computed from.
public final class Node: @unchecked Sendable {
    /// The recorded operation (a primitive of ``Op`` or a user-defined one); its `description`
    /// names it in error messages.
    public let op: OpName
    /// The recorded operands.
    public internal(set) var inputs: [Tensor]
    let rule: BackwardRule

    init(op: OpName, inputs: [Tensor], rule: @escaping BackwardRule) {
        self.op = op
        self.inputs = inputs
        self.rule = rule
    }
}

extension Tensor {
    /// Attaches a node to a freshly computed `result` when recording is on and some input
    /// requires gradients. Every differentiable primitive ends with this call.
    static func record(_ result: Tensor, op: Op, inputs: [Tensor], rule: @escaping BackwardRule) -> Tensor {
        attach(result, op: .primitive(op), inputs: inputs, rule: rule)
    }

    private static func attach(_ result: Tensor, op: OpName, inputs: [Tensor], rule: @escaping BackwardRule) -> Tensor {
        guard inputs.contains(where: { $0.requiresGrad }), GradMode.isEnabled else { return result }
        result.node = Node(op: op, inputs: inputs, rule: rule)
        result.requiresGrad = true
        return result
    }
}

extension Tensor {
    /// Records a user-defined differentiable operation (PyTorch's `autograd.Function`):
    /// `result` was computed from `inputs` outside the graph, and `rule` gives the input
    /// gradients. Write the rule in tensor operations to keep it twice differentiable.
    /// The node's name is `.custom(op)`.
    public static func differentiable(_ result: Tensor, op: String, inputs: [Tensor],
                                      rule: @escaping BackwardRule) -> Tensor {
        precondition(result.isLeaf, "\(op): the result must be computed outside the graph (use detached values)")
        return attach(result, op: .custom(op), inputs: inputs, rule: rule)
    }
}
