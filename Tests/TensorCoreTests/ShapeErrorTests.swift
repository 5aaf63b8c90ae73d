import Testing
import Foundation
import TensorCore

/// Shape errors stop the program with a message naming the operation and the shapes involved.
/// Each case runs in a child process (Swift Testing exit tests) whose standard error is checked.
@Suite("Shape errors")
struct ShapeErrorTests {
    static func stderr(_ result: ExitTest.Result?) -> String {
        guard let result else { return "" }
        return String(decoding: result.standardErrorContent, as: UTF8.self)
    }

    static func expectMentions(_ result: ExitTest.Result?, _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let text = stderr(result)
        for part in parts {
            #expect(text.contains(part), "stderr should mention \(part.debugDescription): \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test("add: shapes that cannot broadcast")
    func addBroadcastFailure() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([4])
        }
        Self.expectMentions(result, ["add", "[2, 3]", "[4]"])
    }

    @Test("multiply: shapes that cannot broadcast, in a higher rank")
    func multiplyBroadcastFailure() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3, 4]) * Tensor.zeros([3, 1, 5])
        }
        Self.expectMentions(result, ["multiply", "[2, 3, 4]", "[3, 1, 5]"])
    }

    @Test("scaledSum: operands of different shapes (no broadcasting)")
    func scaledSumShapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = scaledSum(Tensor.zeros([2, 3]), Tensor.zeros([3]), scale: 0.5)
        }
        Self.expectMentions(result, ["scaledSum", "[2, 3]", "[3]"])
    }

    @Test("matmul: inner dimensions differ")
    func matmulInnerMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))
        }
        Self.expectMentions(result, ["matmul", "[2, 3]", "[4, 5]"])
    }

    @Test("matmul: inner dimensions differ under transposition")
    func matmulTransposedMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Tensor.zeros([2, 3]), Tensor.zeros([2, 5]), transposeB: true)
        }
        Self.expectMentions(result, ["matmul", "[2, 3]", "[2, 5]"])
    }

    @Test("conv2d: input and weight disagree on channels")
    func conv2dChannelMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = conv2d(Tensor.zeros([1, 3, 5, 5]), weight: Tensor.zeros([4, 2, 3, 3]))
        }
        Self.expectMentions(result, ["conv2d", "[1, 3, 5, 5]", "[4, 2, 3, 3]"])
    }

    @Test("reshape: element counts differ")
    func reshapeCountMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).reshaped(to: [4, 2])
        }
        Self.expectMentions(result, ["reshape", "[2, 3]", "[4, 2]"])
    }

    @Test("reshape: −1 cannot be inferred")
    func reshapeInferenceFailure() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).reshaped(to: [4, -1])
        }
        Self.expectMentions(result, ["reshape", "[2, 3]", "[4, -1]"])
    }

    @Test("concatenate: extents differ off the joining axis")
    func concatenateMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = concatenate([Tensor.zeros([2, 3]), Tensor.zeros([3, 4])], axis: 1)
        }
        Self.expectMentions(result, ["concatenate", "[2, 3]", "[3, 4]"])
    }

    @Test("crossEntropy: label count differs from the batch size")
    func crossEntropyLabelMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(logits: Tensor.zeros([4, 3]), labels: [0, 1, 2])
        }
        Self.expectMentions(result, ["crossEntropy", "[4, 3]", "[3]"])
    }

    @Test("backward: a non-scalar output without a seed")
    func backwardNonScalar() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.zeros([2, 2]).requiringGrad()
            _ = gradients(of: x * x, wrt: [x])
        }
        Self.expectMentions(result, ["backward", "[2, 2]"])
    }

    @Test("a custom rule returning a gradient of the wrong shape is reported")
    func customRuleWrongShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.zeros([2, 3]).requiringGrad()
            let y = Tensor.differentiable(Tensor.zeros([2, 3]), op: "badShape", inputs: [x]) { _ in [Tensor.zeros([3, 2])] }
            _ = gradients(of: y.sum(), wrt: [x])
        }
        Self.expectMentions(result, ["badShape", "[2, 3]", "[3, 2]"])
    }

    @Test("crossEntropy: a label outside 0..<classes is named")
    func crossEntropyLabelRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(logits: Tensor.zeros([2, 3]), labels: [0, 3])
        }
        Self.expectMentions(result, ["crossEntropy", "label 3"])
    }

    @Test("reductions: an axis out of range is named with the rank")
    func axisOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).sum(axis: 2)
        }
        Self.expectMentions(result, ["sum", "axis 2", "rank 2"])
    }

    @Test("slice: a range outside the axis is named with the shape")
    func sliceOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).sliced(axis: 1, 2..<5)
        }
        Self.expectMentions(result, ["slice", "[2, 3]"])
    }

    @Test("stack: differently shaped tensors")
    func stackMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = stack([Tensor.zeros([2, 3]), Tensor.zeros([3, 2])])
        }
        Self.expectMentions(result, ["stack", "[2, 3]", "[3, 2]"])
    }

    @Test("batchNorm: parameters with the wrong channel count")
    func batchNormChannels() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = batchNorm(Tensor.zeros([4, 3]), runningMean: Tensor.zeros([2]), runningVar: Tensor.ones([3]), training: false)
        }
        Self.expectMentions(result, ["batchNorm runningMean", "[2]", "[4, 3]"])
    }

    @Test("the message builder itself names the op and both shapes (in-process, no exit test)")
    func broadcastShapesInProcess() {
        #expect(Shape.broadcast([2, 3, 1], [4], op: "add") == [2, 3, 4])
        #expect(Shape.broadcast([], [2, 3], op: "add") == [2, 3])
        #expect(Shape.broadcast([1, 3, 1, 1], [2, 3, 4, 5], op: "add") == [2, 3, 4, 5])
        #expect(Shape.broadcast([0, 1], [1, 4], op: "add") == [0, 4])
    }
}
