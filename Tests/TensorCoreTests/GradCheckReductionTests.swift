import Testing
import TensorCore
import _TestSupport

/// Gradient checks of reductions (single, several and all axes; keepDims both ways),
/// max(axis:), log-sum-exp, norms, softmax family and cross-entropy.
@Suite("Gradient checks: reductions")
struct GradCheckReductionTests {
    /// Axis sets for a rank-3 input; nil means all axes.
    static let axisSets: [[Int]?] = [nil, [0], [1], [2], [-1], [0, 2], [1, 2], [0, 1, 2], [2, 0]]

    @Test("sum", arguments: axisSets, [false, true])
    func sumGrad(_ axes: [Int]?, _ keepDims: Bool) {
        let x = Fixtures.normal([2, 3, 4], seed: 51)
        expectGradCheck([x]) { square($0[0].sum(axes: axes, keepDims: keepDims)) }
    }

    @Test("mean", arguments: axisSets, [false, true])
    func meanGrad(_ axes: [Int]?, _ keepDims: Bool) {
        let x = Fixtures.normal([2, 3, 4], seed: 52)
        expectGradCheck([x]) { square($0[0].mean(axes: axes, keepDims: keepDims)) }
    }

    @Test("variance", arguments: axisSets, [false, true])
    func varianceGrad(_ axes: [Int]?, _ keepDims: Bool) {
        let x = Fixtures.normal([2, 3, 4], seed: 53)
        expectGradCheck([x]) { $0[0].variance(axes: axes, keepDims: keepDims) }
    }

    @Test("sum(axis:) and mean(axis:)")
    func singleAxisOverloads() {
        let x = Fixtures.normal([3, 4], seed: 54)
        expectGradCheck([x]) { square($0[0].sum(axis: 1)) + square($0[0].mean(axis: 0, keepDims: true)).sum() }
    }

    @Test("max(axis:) on distinct values", arguments: [0, 1, 2, -1], [false, true])
    func maxAxisGrad(_ axis: Int, _ keepDims: Bool) {
        let x = Fixtures.distinct([2, 3, 4], seed: 55)
        expectGradCheck([x]) { square($0[0].max(axis: axis, keepDims: keepDims).values) }
    }

    @Test("logSumExp", arguments: axisSets, [false, true])
    func logSumExpGrad(_ axes: [Int]?, _ keepDims: Bool) {
        let x = Fixtures.normal([2, 3, 4], seed: 56, std: 2)
        expectGradCheck([x]) { $0[0].logSumExp(axes: axes, keepDims: keepDims) }
    }

    @Test("norm, squaredNorm, perSampleNorm")
    func norms() {
        let x = Fixtures.awayFromZero([3, 4], seed: 57)
        expectGradCheck([x], "norm all") { $0[0].norm() }
        expectGradCheck([x], "norm axis 1") { $0[0].norm(axes: [1]) }
        expectGradCheck([x], "norm axis 0 keepDims") { $0[0].norm(axes: [0], keepDims: true) }
        expectGradCheck([x], "squaredNorm") { $0[0].squaredNorm(axes: [1]) }
        expectGradCheck([Fixtures.normal([2, 2, 3], seed: 58)], "perSampleNorm") { $0[0].perSampleNorm() }
    }

    @Test("logSoftmax and softmax", arguments: [0, 1, -1])
    func softmaxFamily(_ axis: Int) {
        let x = Fixtures.normal([3, 4], seed: 59)
        expectGradCheck([x], "logSoftmax") { logSoftmax($0[0], axis: axis) }
        expectGradCheck([x], "softmax") { softmax($0[0], axis: axis) }
        expectGradCheck([Fixtures.normal([2, 3, 2], seed: 60)], "softmax rank 3") { softmax($0[0], axis: axis) }
    }

    @Test("crossEntropy", arguments: Reduction.allCases)
    func crossEntropyGrad(_ reduction: Reduction) {
        let logits = Fixtures.normal([4, 3], seed: 61, std: 2)
        expectGradCheck([logits]) { crossEntropy(logits: $0[0], labels: [0, 2, 2, 1], reduction: reduction) }
    }
}
