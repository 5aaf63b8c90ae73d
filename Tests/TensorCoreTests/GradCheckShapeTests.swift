import Testing
import TensorCore
import _TestSupport

/// Gradient checks of shape and indexing operations. These are linear, so each is composed
/// with a nonlinearity: the second-order check then exercises the op's rule applied to a
/// recorded gradient.
@Suite("Gradient checks: shape and indexing")
struct GradCheckShapeTests {
    static let x234: @Sendable () -> [Tensor] = { [Fixtures.normal([2, 3, 4], seed: 71)] }

    static let cases: [GradCase] = [
        GradCase("reshape [2,3,4] → [6,-1]", inputs: x234) { square($0[0].reshaped(to: [6, -1])) * $0[0].reshaped(to: [6, 4]) },
        GradCase("reshape to [-1]", inputs: x234) { tanh($0[0].reshaped(to: [-1])) },
        GradCase("flattened", inputs: x234) { square($0[0].flattened()) },
        GradCase("flattened(startAxis: 0)", inputs: x234) { square($0[0].flattened(startAxis: 0)) },
        GradCase("unsqueezed", inputs: x234) { square($0[0].unsqueezed(axis: 1)) },
        GradCase("squeezed", inputs: { [Fixtures.normal([2, 1, 3, 1], seed: 72)] }) { square($0[0].squeezed()) },
        GradCase("squeezed(axes:)", inputs: { [Fixtures.normal([2, 1, 3, 1], seed: 73)] }) { square($0[0].squeezed(axes: [3])) },
        GradCase("permuted [2,0,1]", inputs: x234) { square($0[0].permuted([2, 0, 1])) },
        GradCase("permuted [1,2,0] * original", inputs: x234) { $0[0].permuted([1, 2, 0]) * $0[0].permuted([1, 2, 0]).sum() },
        GradCase("permuted rank 4", inputs: { [Fixtures.normal([2, 2, 3, 2], seed: 74)] }) { square($0[0].permuted([0, 2, 3, 1])) },
        GradCase("transposed (last two)", inputs: x234) { square($0[0].transposed()) },
        GradCase("transposed(0, 2)", inputs: x234) { square($0[0].transposed(0, 2)) },
        GradCase("expanded [3,1] → [2,3,4]", inputs: { [Fixtures.normal([3, 1], seed: 75)] }) { square($0[0].expanded(to: [2, 3, 4])) },
        GradCase("expanded [] → [2,3]", inputs: { [Tensor(0.4)] }) { exp($0[0].expanded(to: [2, 3])) },
        GradCase("expanded [1,4] → [3,4]", inputs: { [Fixtures.normal([1, 4], seed: 76)] }) { tanh($0[0].expanded(to: [3, 4])) },
        GradCase("sliced axis 0", inputs: x234) { square($0[0].sliced(axis: 0, 1..<2)) },
        GradCase("sliced axis 1", inputs: x234) { square($0[0].sliced(axis: 1, 1..<3)) },
        GradCase("sliced axis -1", inputs: x234) { square($0[0].sliced(axis: -1, 0..<3)) },
        GradCase("rows subscript", inputs: x234) { square($0[0][rows: 0..<1]) },
        GradCase("placed", inputs: { [Fixtures.normal([2, 2, 4], seed: 77)] }) { square($0[0].placed(into: [2, 5, 4], axis: 1, at: 2)) + 1 },
        GradCase("gatheringRows with repeats", inputs: { [Fixtures.normal([4, 3], seed: 78)] }) { square($0[0].gatheringRows([0, 2, 2, 1, 0, 2])) },
        GradCase("gathered flat indices with repeats", inputs: { [Fixtures.normal([2, 3], seed: 79)] }) {
            tanh($0[0].gathered(flatIndices: [5, 0, 0, 3, 5, 5, 1, 2], shape: [2, 4]))
        },
        GradCase("scatterAdded with repeats", inputs: { [Fixtures.normal([5], seed: 80)] }) {
            square($0[0].scatterAdded(flatIndices: [3, 0, 3, 1, 3], shape: [2, 2]))
        },
        GradCase("concatenate axis 0", inputs: { [Fixtures.normal([1, 3], seed: 81), Fixtures.normal([2, 3], seed: 82), Fixtures.normal([3, 3], seed: 83)] }) {
            square(concatenate($0, axis: 0))
        },
        GradCase("concatenate axis 1", inputs: { [Fixtures.normal([2, 1, 2], seed: 84), Fixtures.normal([2, 3, 2], seed: 85)] }) {
            square(concatenate($0, axis: 1))
        },
        GradCase("concatenate axis -1", inputs: { [Fixtures.normal([2, 3], seed: 86), Fixtures.normal([2, 2], seed: 87)] }) {
            tanh(concatenate($0, axis: -1))
        },
        GradCase("concatenate same tensor twice", inputs: { [Fixtures.normal([2, 3], seed: 88)] }) {
            square(concatenate([$0[0], $0[0]], axis: 1))
        },
        GradCase("stack axis 0", inputs: { [Fixtures.normal([2, 3], seed: 89), Fixtures.normal([2, 3], seed: 90)] }) { square(stack($0, axis: 0)) },
        GradCase("stack axis 1", inputs: { [Fixtures.normal([2, 3], seed: 91), Fixtures.normal([2, 3], seed: 92)] }) { square(stack($0, axis: 1)) },
        GradCase("stack axis 2", inputs: { [Fixtures.normal([2, 3], seed: 93), Fixtures.normal([2, 3], seed: 94), Fixtures.normal([2, 3], seed: 95)] }) {
            tanh(stack($0, axis: 2))
        },
        GradCase("sumToShape", inputs: { [Fixtures.normal([2, 3, 4], seed: 96)] }) { square($0[0].sumToShape([3, 1])) },
    ]

    @Test("shape and indexing ops", arguments: cases)
    func shapeOps(_ c: GradCase) { c.run() }
}
