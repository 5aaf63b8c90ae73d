import TensorCore

/// The primitives recorded in the graph that produced `output` (every node reachable from it).
public func recordedOps(_ output: Tensor) -> Set<Op> {
    var found = Set<Op>(), seen = Set<ObjectIdentifier>(), pending = [output]
    while let t = pending.popLast() {
        guard let node = t.node, seen.insert(ObjectIdentifier(node)).inserted else { continue }
        if case .primitive(let op) = node.op { found.insert(op) }
        pending.append(contentsOf: node.inputs)
    }
    return found
}
