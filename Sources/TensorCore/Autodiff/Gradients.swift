/// Reverse-mode differentiation over recorded graphs (DESIGN.md §2, after micrograd's engine
/// and PyTorch's `autograd.grad`).
///
/// The graph is walked once in reverse topological order. A node is expanded only when one of
/// the requested tensors lies below it, and each rule is told which inputs need a gradient,
/// so asking for ∂L/∂x does not pay for weight gradients. Fan-in is summed. With
/// `createGraph: true` the rules run with recording on: the returned gradients are themselves
/// recorded, and can be differentiated again (double backprop, Hessian-vector products).

/// Gradients of `output` with respect to each tensor in `wrt`.
///
/// - Parameters:
///   - output: the tensor to differentiate; a scalar unless `seed` is given.
///   - wrt: tensors to differentiate with respect to (leaves or intermediate results).
///   - seed: ∂L/∂output; required when `output` is not a scalar (for a scalar it defaults to 1).
///   - createGraph: record the backward computation so the result can be differentiated again.
/// - Returns: one gradient per tensor in `wrt`, with its shape; zeros where `output` does not
///   depend on it.
public func gradients(of output: Tensor, wrt: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false) -> [Tensor] {
    var engine = BackwardPass(output: output, targets: wrt)
    let grads = engine.run(seed: seed, createGraph: createGraph, accumulateIntoLeaves: false)
    return wrt.map { t in grads[ObjectIdentifier(t)] ?? Tensor.zeros(t.shape) }
}

extension Tensor {
    /// Accumulates ∂self/∂leaf into `leaf.grad` for every leaf that requires gradients
    /// (parameters, typically). `self` must be a scalar unless `seed` is given.
    public func backward(seed: Tensor? = nil, createGraph: Bool = false) {
        var engine = BackwardPass(output: self, targets: nil)
        let grads = engine.run(seed: seed, createGraph: createGraph, accumulateIntoLeaves: true)
        _ = grads
    }
}

/// Hessian-vector product `∇²f(x)·v` of a scalar `f` recorded as a function of `x`, by double
/// backprop: `∇ₓ⟨∇ₓf, v⟩`. The first gradient is recorded, so any composition of
/// differentiable operations works. Pass `createGraph: true` to differentiate the product again.
public func hvp(of f: Tensor, wrt x: Tensor, along v: Tensor, createGraph: Bool = false) -> Tensor {
    guard v.shape == x.shape else { shapeMismatch("hvp", x.shape, v.shape, "differ (x and v)") }
    let g = withGrad { gradients(of: f, wrt: [x], createGraph: true)[0] }
    guard g.requiresGrad else { return Tensor.zeros(x.shape) }   // f is linear in x
    let gv = withGrad { (g * v.detached()).sum() }
    return gradients(of: gv, wrt: [x], createGraph: createGraph)[0]
}

/// Value and gradient of a scalar function at `x`, as a convenience for attacks and checks.
public func valueWithGradient(at x: Tensor, createGraph: Bool = false,
                              _ f: (Tensor) -> Tensor) -> (value: Tensor, gradient: Tensor) {
    let input = x.isLeaf && x.requiresGrad ? x : x.detached().requiringGrad()
    let y = withGrad { f(input) }
    guard y.requiresGrad else { return (y, Tensor.zeros(x.shape)) }
    return (y, gradients(of: y, wrt: [input], createGraph: createGraph)[0])
}

struct BackwardPass {
    let output: Tensor
    /// Tensors whose gradients are requested; nil means "all leaves requiring gradients".
    let targets: [Tensor]?
    private var targetIDs: Set<ObjectIdentifier> = []
    /// Memo: does a requested tensor lie at or below this tensor?
    private var reaches: [ObjectIdentifier: Bool] = [:]

    init(output: Tensor, targets: [Tensor]?) {
        self.output = output
        self.targets = targets
        if let targets { targetIDs = Set(targets.map(ObjectIdentifier.init)) }
    }

    /// Whether `t` is requested (or, with no explicit targets, a leaf requiring gradients).
    private func isTarget(_ t: Tensor) -> Bool {
        targets == nil ? (t.isLeaf && t.requiresGrad) : targetIDs.contains(ObjectIdentifier(t))
    }

    /// Reverse topological order of the tensors whose node must be expanded, computed with an
    /// explicit stack (deep networks would overflow a recursive walk).
    private mutating func order() -> [Tensor] {
        var post: [Tensor] = []
        var stack: [(Tensor, Int)] = [(output, 0)]
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(output)]
        while let (t, next) = stack.popLast() {
            guard let node = t.node, next < node.inputs.count else {
                // Done with t: it reaches a target if it is one or any recorded input does.
                var r = isTarget(t)
                if let node = t.node { r = r || node.inputs.contains { reaches[ObjectIdentifier($0)] == true } }
                reaches[ObjectIdentifier(t)] = r
                post.append(t)
                continue
            }
            stack.append((t, next + 1))
            let child = node.inputs[next]
            if child.requiresGrad, visited.insert(ObjectIdentifier(child)).inserted {
                stack.append((child, 0))
            }
        }
        return post.reversed()
    }

    mutating func run(seed: Tensor?, createGraph: Bool, accumulateIntoLeaves: Bool) -> [ObjectIdentifier: Tensor] {
        if let seed, seed.shape != output.shape {
            shapeMismatch("backward", output.shape, seed.shape, "differ (output and seed)")
        }
        if seed == nil && output.count != 1 {
            invalidShape("backward", output.shape, "is not a scalar; pass a seed gradient")
        }
        var grads: [ObjectIdentifier: Tensor] = [:]
        guard output.requiresGrad else { return grads }
        let topo = order()
        grads[ObjectIdentifier(output)] = seed ?? Tensor.ones(output.shape)

        GradMode.$isEnabled.withValue(createGraph) {
            for t in topo {
                let id = ObjectIdentifier(t)
                guard let g = grads[id] else { continue }
                if accumulateIntoLeaves, t.isLeaf, t.requiresGrad {
                    t.grad = t.grad.map { $0 + g } ?? (createGraph ? g : g.detached())
                }
                guard let node = t.node, reaches[id] == true else { continue }
                let needs = node.inputs.map { $0.requiresGrad && reaches[ObjectIdentifier($0)] == true }
                guard needs.contains(true) else { continue }
                let inputGrads = node.rule(BackwardContext(gradOutput: g, inputs: node.inputs, output: t, needsGrad: needs))
                precondition(inputGrads.count == node.inputs.count, "\(node.op): rule returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (i, input) in node.inputs.enumerated() where needs[i] {
                    guard let gi = inputGrads[i] else { continue }
                    if gi.shape != input.shape {
                        shapeMismatch("\(node.op) backward", input.shape, gi.shape, "differ (input and its gradient)")
                    }
                    let key = ObjectIdentifier(input)
                    grads[key] = grads[key].map { $0 + gi } ?? gi
                }
                if !isTarget(t) { grads[id] = nil }   // free intermediate gradients early
            }
        }
        return grads
    }
}
