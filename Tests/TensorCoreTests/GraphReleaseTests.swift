import Testing
import TensorCore
import _TestSupport

/// Recorded graphs must be freed when their output goes out of scope: a rule that captured
/// its own output (a retain cycle) leaked every step's activations, growing memory without
/// bound in training loops.
@Suite("Graph release")
struct GraphReleaseTests {
    /// Builds `f` on recorded copies `hᵢ = xᵢ·1` of the inputs in a scope, backpropagates, and
    /// returns whether the hᵢ and the result were freed after the scope. Any node of the graph
    /// kept alive by a cycle holds its inputs, and so the hᵢ below it.
    static func isReleased(_ inputs: [Tensor], _ f: ([Tensor]) -> Tensor) -> Bool {
        final class WeakBox { weak var tensor: Tensor?; init(_ t: Tensor) { tensor = t } }
        var boxes: [WeakBox] = []
        do {
            let h = inputs.map { $0 * 1 }
            let y = f(h)
            boxes = (h + [y]).map(WeakBox.init)
            let loss = y.count == 1 ? y.reshaped(to: []) : (y * y).sum()
            loss.backward()
        }
        return boxes.allSatisfy { $0.tensor == nil }
    }

    static let x4 = Fixtures.normal([2, 3, 4, 4], seed: 1)
    static let x2 = Fixtures.normal([4, 5], seed: 2)

    @Test("every operation's graph is released", arguments: [
        "sum", "sumKeepDims", "mean", "logSumExp", "crossEntropy", "max", "softmax", "batchNorm",
        "batchNormEval", "conv2d", "maxPool2d", "avgPool2d", "softplus", "where", "concatenate", "matmul",
    ])
    func released(_ op: String) {
        let x4 = Self.x4.copy().requiringGrad(), x2 = Self.x2.copy().requiringGrad()
        let w = Fixtures.normal([2, 3, 3, 3], seed: 3).requiringGrad()
        let released: Bool
        switch op {
        case "sum": released = Self.isReleased([x2]) { $0[0].sum(axes: [1]) }
        case "sumKeepDims": released = Self.isReleased([x2]) { $0[0].sum(axes: [1], keepDims: true) }
        case "mean": released = Self.isReleased([x2]) { $0[0].mean(axes: [0], keepDims: true) }
        case "logSumExp": released = Self.isReleased([x2]) { $0[0].logSumExp(axes: [1], keepDims: true) }
        case "crossEntropy": released = Self.isReleased([x2]) { crossEntropy(logits: $0[0], labels: [0, 1, 2, 3]) }
        case "max": released = Self.isReleased([x2]) { $0[0].max(axis: 1, keepDims: true).values }
        case "softmax": released = Self.isReleased([x2]) { softmax($0[0]) }
        case "batchNorm":
            released = Self.isReleased([x4]) {
                batchNorm($0[0], runningMean: .zeros([3]), runningVar: .ones([3]), weight: Tensor.ones([3]).requiringGrad(), training: true)
            }
        case "batchNormEval":
            released = Self.isReleased([x4]) { batchNorm($0[0], runningMean: .zeros([3]), runningVar: .ones([3]), training: false) }
        case "conv2d": released = Self.isReleased([x4, w]) { conv2d($0[0], weight: $0[1], padding: 1) }
        case "maxPool2d": released = Self.isReleased([x4]) { $0[0].maxPool2d(kernelSize: 2) }
        case "avgPool2d": released = Self.isReleased([x4]) { $0[0].avgPool2d(kernelSize: 2) }
        case "softplus": released = Self.isReleased([x2, Tensor(2).requiringGrad()]) { softplus($0[0], beta: $0[1], centered: true) }
        case "where": released = Self.isReleased([x2]) { `where`($0[0].greater(0), $0[0], $0[0] * 2) }
        case "concatenate": released = Self.isReleased([x2]) { concatenate([$0[0], $0[0]], axis: 1) }
        case "matmul": released = Self.isReleased([x2]) { matmul($0[0], $0[0], transposeB: true) }
        default: Issue.record("unknown op \(op)"); return
        }
        #expect(released, "the graph of \(op) was not freed")
    }

    @Test("a double-backprop graph is released")
    func doubleBackpropReleased() {
        let x = Self.x2.copy().requiringGrad()
        let released = Self.isReleased([x]) { args in
            let loss = crossEntropy(logits: softplus(args[0], beta: 3), labels: [0, 1, 2, 3])
            return gradients(of: loss, wrt: [args[0]], createGraph: true)[0].squaredNorm()
        }
        #expect(released)
    }
}
