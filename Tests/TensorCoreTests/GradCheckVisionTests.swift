import Testing
import TensorCore
import _TestSupport

/// Gradient checks of the vision operations: convolutions and their adjoints, pooling,
/// batch normalisation and dropout.
@Suite("Gradient checks: vision")
struct GradCheckVisionTests {
    /// (input shape, weight shape, stride, padding)
    struct ConvGeometry: Sendable, CustomTestStringConvertible {
        let input: [Int], weight: [Int], stride: Int, padding: Int
        var testDescription: String { "x\(input) w\(weight) s\(stride) p\(padding)" }
    }

    static let convGeometries: [ConvGeometry] = [
        ConvGeometry(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: 1, padding: 0),
        ConvGeometry(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: 1, padding: 1),
        ConvGeometry(input: [1, 2, 5, 5], weight: [2, 2, 3, 3], stride: 2, padding: 0),
        ConvGeometry(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: 2, padding: 1),
        ConvGeometry(input: [1, 2, 4, 6], weight: [2, 2, 3, 2], stride: 2, padding: 1),
        ConvGeometry(input: [1, 1, 6, 4], weight: [2, 1, 2, 3], stride: 1, padding: 0),
    ]

    @Test("conv2d w.r.t. input and weight", arguments: convGeometries)
    func conv2dGrad(_ g: ConvGeometry) {
        let x = Fixtures.normal(g.input, seed: 121), w = Fixtures.normal(g.weight, seed: 122, std: 0.5)
        expectGradCheck([x, w]) { conv2d($0[0], weight: $0[1], stride: g.stride, padding: g.padding) }
    }

    @Test("conv2d with bias, then a nonlinearity")
    func conv2dBias() {
        let x = Fixtures.normal([1, 2, 4, 4], seed: 123), w = Fixtures.normal([3, 2, 3, 3], seed: 124, std: 0.5)
        let b = Fixtures.normal([3], seed: 125)
        expectGradCheck([x, w, b]) { tanh(conv2d($0[0], weight: $0[1], bias: $0[2], stride: 1, padding: 1)) }
    }

    /// convTranspose2d(y [N, Cin, H, W], weight [Cin, Cout, KH, KW]).
    @Test("convTranspose2d w.r.t. input and weight", arguments: [
        ConvGeometry(input: [2, 3, 3, 3], weight: [3, 2, 3, 3], stride: 1, padding: 0),
        ConvGeometry(input: [2, 3, 3, 3], weight: [3, 2, 3, 3], stride: 2, padding: 1),
        ConvGeometry(input: [1, 2, 2, 3], weight: [2, 2, 3, 2], stride: 2, padding: 0),
        ConvGeometry(input: [1, 2, 3, 2], weight: [2, 1, 3, 3], stride: 1, padding: 1),
    ])
    func convTransposeGrad(_ g: ConvGeometry) {
        let y = Fixtures.normal(g.input, seed: 126), w = Fixtures.normal(g.weight, seed: 127, std: 0.5)
        expectGradCheck([y, w]) { convTranspose2d($0[0], weight: $0[1], stride: g.stride, padding: g.padding) }
    }

    @Test("convTranspose2d with outputPadding")
    func convTransposeOutputPadding() {
        let y = Fixtures.normal([1, 2, 2, 2], seed: 128), w = Fixtures.normal([2, 2, 3, 3], seed: 129, std: 0.5)
        expectGradCheck([y, w]) { x in
            let z = convTranspose2d(x[0], weight: x[1], stride: 2, padding: 1, outputPadding: 1)
            #expect(z.shape == [1, 2, 4, 4])
            return z
        }
    }

    /// conv2dWeightGradient(input x [N,C,H,W], gradOutput y [N,O,OH,OW]) → [O, C, KH, KW].
    @Test("conv2dWeightGradient w.r.t. input and output gradient", arguments: [
        (ConvGeometry(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: 1, padding: 0), [2, 3, 3, 3]),
        (ConvGeometry(input: [2, 2, 5, 5], weight: [3, 2, 3, 3], stride: 2, padding: 1), [2, 3, 3, 3]),
        (ConvGeometry(input: [1, 2, 4, 5], weight: [2, 2, 3, 2], stride: 1, padding: 1), [1, 2, 4, 6]),
        (ConvGeometry(input: [1, 2, 6, 5], weight: [2, 2, 2, 3], stride: 2, padding: 0), [1, 2, 3, 2]),
    ])
    func weightGradientGrad(_ g: ConvGeometry, _ outShape: [Int]) {
        let x = Fixtures.normal(g.input, seed: 130), y = Fixtures.normal(outShape, seed: 131)
        let kernel = (g.weight[2], g.weight[3])
        expectGradCheck([x, y]) { v in
            let w = conv2dWeightGradient(input: v[0], gradOutput: v[1], kernelSize: kernel, stride: g.stride, padding: g.padding)
            #expect(w.shape == g.weight)
            return w
        }
    }

    @Test("conv2d twice (second order through the weight-gradient primitive)")
    func convChain() {
        let x = Fixtures.normal([1, 1, 5, 5], seed: 132), w1 = Fixtures.normal([2, 1, 3, 3], seed: 133, std: 0.5)
        let w2 = Fixtures.normal([1, 2, 3, 3], seed: 134, std: 0.5)
        expectGradCheck([x, w1, w2]) { v in conv2d(tanh(conv2d(v[0], weight: v[1], padding: 1)), weight: v[2], stride: 2) }
    }

    @Test("maxPool2d on distinct inputs", arguments: [(2, 2, 0, [2, 2, 4, 4]), (3, 2, 1, [1, 2, 5, 5]), (3, 2, 1, [1, 1, 6, 4]), (2, 1, 0, [1, 1, 3, 4])])
    func maxPoolGrad(_ kernel: Int, _ stride: Int, _ padding: Int, _ shape: [Int]) {
        let x = Fixtures.distinct(shape, seed: 135)
        expectGradCheck([x]) { square($0[0].maxPool2d(kernelSize: kernel, stride: stride, padding: padding)) }
    }

    @Test("avgPool2d", arguments: [(2, nil, 0, [2, 2, 4, 4]), (3, 2, 1, [1, 2, 5, 5]), (3, 1, 1, [1, 1, 4, 5]), (2, 2, 1, [1, 1, 4, 3])] as [(Int, Int?, Int, [Int])])
    func avgPoolGrad(_ kernel: Int, _ stride: Int?, _ padding: Int, _ shape: [Int]) {
        let x = Fixtures.normal(shape, seed: 136)
        expectGradCheck([x]) { square($0[0].avgPool2d(kernelSize: kernel, stride: stride, padding: padding)) }
    }

    @Test("adaptiveAvgPool2dTo1x1")
    func adaptivePoolGrad() {
        let x = Fixtures.normal([2, 3, 3, 2], seed: 137)
        expectGradCheck([x]) { square($0[0].adaptiveAvgPool2dTo1x1()) }
    }

    @Test("batchNorm in training w.r.t. x, weight and bias", arguments: [[4, 3], [2, 3, 2, 2]])
    func batchNormTraining(_ shape: [Int]) {
        let x = Fixtures.normal(shape, seed: 138)
        let weight = Fixtures.normal([3], seed: 139), bias = Fixtures.normal([3], seed: 140)
        let runningMean = Tensor.zeros([3]), runningVar = Tensor.ones([3])
        expectGradCheck([x, weight, bias]) { v in
            batchNorm(v[0], runningMean: runningMean, runningVar: runningVar, weight: v[1], bias: v[2], training: true)
        }
        expectGradCheck([x], "no affine") { v in
            square(batchNorm(v[0], runningMean: runningMean, runningVar: runningVar, training: true))
        }
    }

    @Test("batchNorm in evaluation w.r.t. x, weight and bias", arguments: [[4, 3], [2, 3, 2, 2]])
    func batchNormEval(_ shape: [Int]) {
        let x = Fixtures.normal(shape, seed: 141)
        let weight = Fixtures.normal([3], seed: 142), bias = Fixtures.normal([3], seed: 143)
        let runningMean = Tensor([0.2, -0.1, 0.5]), runningVar = Tensor([0.5, 2, 1.3])
        expectGradCheck([x, weight, bias]) { v in
            tanh(batchNorm(v[0], runningMean: runningMean, runningVar: runningVar, weight: v[1], bias: v[2], training: false))
        }
    }

    @Test("dropout in training with a fixed mask", arguments: [Float(0.3), 0.5])
    func dropoutGrad(_ p: Float) {
        let x = Fixtures.normal([3, 4], seed: 144)
        expectGradCheck([x]) { v in
            var g = SeededGenerator(seed: 145)   // the same seed on every call: a fixed mask
            return square(dropout(v[0], probability: p, training: true, generator: &g))
        }
        // The mask really is applied (some zeros, the rest scaled by 1/(1 − p)).
        var g = SeededGenerator(seed: 145)
        let y = dropout(x, probability: p, training: true, generator: &g)
        let ratios = zip(y.scalars, x.scalars).map { $0 / $1 }
        #expect(ratios.contains(0))
        #expect(ratios.allSatisfy { $0 == 0 || Swift.abs($0 - 1 / (1 - p)) < 1e-5 })
    }
}
