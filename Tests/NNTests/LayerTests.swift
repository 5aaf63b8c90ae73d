import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

// MARK: - Shared helpers for the NN tests written in this group of files
// (LayerTests, ActivationTests, LCNNBlockTests, ModelTests, TraversalTests, CurvatureBoundTests,
// PenaltyTests). Everything lives under `NNTestKit` so it cannot collide with other test files.

enum NNTestKit {
    /// Checks `|actual − expected| ≤ atol + rtol·|expected|` elementwise and reports the worst element.
    static func expectClose(_ actual: [Float], _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-6,
                            _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)",
                sourceLocation: sourceLocation)
        let worst = worstToleranceViolation(actual, expected, rtol: rtol, atol: atol)
        #expect(worst == nil, "\(label): element \(worst?.index ?? -1) is \(worst?.actual ?? 0), expected \(worst?.expected ?? 0)",
                sourceLocation: sourceLocation)
    }

    static func expectClose(_ actual: [Float], _ expected: [Float], rtol: Double = 1e-5, atol: Double = 1e-6,
                            _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        expectClose(actual, expected.map(Double.init), rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
    }

    /// `|a − b| ≤ rtol·|b|`.
    static func relativelyClose(_ a: Double, _ b: Double, _ rtol: Double) -> Bool { Swift.abs(a - b) <= rtol * Swift.abs(b) }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    /// Central differences of `f` with respect to every element of `tensor`, perturbed in place
    /// (and restored). `f` must not change any state that it reads (run it in evaluation mode).
    static func numericGradient(of tensor: Tensor, epsilon: Float = 1e-3, _ f: () -> Float) -> [Float] {
        (0..<tensor.count).map { k in
            let original = tensor.withUnsafeBufferPointer { $0[k] }
            tensor.withUnsafeMutableBufferPointer { $0[k] = original + epsilon }
            let plus = withoutGrad { f() }
            tensor.withUnsafeMutableBufferPointer { $0[k] = original - epsilon }
            let minus = withoutGrad { f() }
            tensor.withUnsafeMutableBufferPointer { $0[k] = original }
            return (plus - minus) / (2 * epsilon)
        }
    }

    /// Eigenvalues of a symmetric `n×n` matrix (row-major) by cyclic Jacobi rotations, in Double.
    static func symmetricEigenvalues(_ matrix: [Double], n: Int) -> [Double] {
        var storage = matrix
        return storage.withUnsafeMutableBufferPointer { a -> [Double] in
            for _ in 0..<100 {
                var off = 0.0, total = 0.0
                for i in 0..<n { for j in 0..<n { total += a[i * n + j] * a[i * n + j]; if i != j { off += a[i * n + j] * a[i * n + j] } } }
                if off <= 1e-26 * Swift.max(total, 1e-300) { break }
                for p in 0..<n {
                    for q in (p + 1)..<n where a[p * n + q] != 0 {
                        let apq = a[p * n + q]
                        let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                        let t = (theta >= 0 ? 1.0 : -1.0) / (Swift.abs(theta) + (theta * theta + 1).squareRoot())
                        let c = 1 / (t * t + 1).squareRoot(), s = t * c
                        for k in 0..<n {   // columns p, q
                            let akp = a[k * n + p], akq = a[k * n + q]
                            a[k * n + p] = c * akp - s * akq
                            a[k * n + q] = s * akp + c * akq
                        }
                        for k in 0..<n {   // rows p, q
                            let apk = a[p * n + k], aqk = a[q * n + k]
                            a[p * n + k] = c * apk - s * aqk
                            a[q * n + k] = s * apk + c * aqk
                        }
                    }
                }
            }
            return (0..<n).map { a[$0 * n + $0] }
        }
    }

    /// The largest singular value of a `rows×cols` matrix (row-major), via the eigenvalues of
    /// the smaller Gram matrix, in Double.
    static func largestSingularValue(_ m: [Double], rows: Int, cols: Int) -> Double {
        let n = Swift.min(rows, cols)
        var gram = [Double](repeating: 0, count: n * n)
        if cols <= rows {   // MᵀM
            for i in 0..<n { for j in i..<n {
                var s = 0.0
                for r in 0..<rows { s += m[r * cols + i] * m[r * cols + j] }
                gram[i * n + j] = s; gram[j * n + i] = s
            } }
        } else {            // MMᵀ
            for i in 0..<n { for j in i..<n {
                var s = 0.0
                for c in 0..<cols { s += m[i * cols + c] * m[j * cols + c] }
                gram[i * n + j] = s; gram[j * n + i] = s
            } }
        }
        return Swift.max(0, symmetricEigenvalues(gram, n: n).max() ?? 0).squareRoot()
    }

    /// The explicit matrix `[outputs, inputs]` (row-major, Double) of a linear map on tensors
    /// of `inputShape`, built by applying it to every basis tensor.
    static func explicitMatrix(inputShape: [Int], _ apply: (Tensor) -> Tensor) -> (m: [Double], rows: Int, cols: Int) {
        let cols = inputShape.reduce(1, *)
        var columns: [[Float]] = []
        for j in 0..<cols {
            var e = [Float](repeating: 0, count: cols)
            e[j] = 1
            columns.append(withoutGrad { apply(Tensor(e, shape: inputShape)) }.scalars)
        }
        let rows = columns[0].count
        var m = [Double](repeating: 0, count: rows * cols)
        for j in 0..<cols { for i in 0..<rows { m[i * cols + j] = Double(columns[j][i]) } }
        return (m, rows, cols)
    }

    /// `M·x` for a row-major matrix.
    static func multiply(_ m: [Double], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
        (0..<rows).map { i in (0..<cols).reduce(0.0) { $0 + m[i * cols + $1] * x[$1] } }
    }

    /// `Mᵀ·y` for a row-major matrix.
    static func multiplyTransposed(_ m: [Double], rows: Int, cols: Int, _ y: [Double]) -> [Double] {
        (0..<cols).map { j in (0..<rows).reduce(0.0) { $0 + m[$1 * cols + j] * y[$1] } }
    }

    static func normalized(_ x: [Double]) -> [Double] {
        let n = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return x.map { $0 / n }
    }

    static func norm(_ x: [Float]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }

    /// Whether to run the full-size CIFAR tests (LCNN ResNet-18/34 and VGG-11 builds run 15
    /// power-iteration steps per convolution at 32×32; full-size forward passes): in optimised
    /// builds (`swift test -c release -Xswiftc -enable-testing`, about a second each), or when
    /// `LCNN_FULL_TESTS=1` is set. A debug build takes minutes for them, so they are skipped there.
    static let fullSizeModels: Bool = {
        if ProcessInfo.processInfo.environment["LCNN_FULL_TESTS"] == "1" { return true }
        #if DEBUG
        return false
        #else
        return true
        #endif
    }()

    /// Double reference of `σ(t)`.
    static func sigmoid(_ t: Double) -> Double { 1 / (1 + Foundation.exp(-t)) }
}

// MARK: - Small layers used to test containers

/// `x ↦ a·x`, parameter-free test layer.
private final class ScaleLayer: Layer {
    let factor: Float
    init(_ factor: Float) { self.factor = factor }
    func callAsFunction(_ x: Tensor) -> Tensor { x * factor }
    func visit(_ v: inout TensorVisitor) {}
}

/// `x ↦ x + b`, with `b` a named parameter.
private final class ShiftLayer: Layer {
    let offset: Tensor
    init(_ b: Float) { offset = Tensor(b).requiringGrad() }
    func callAsFunction(_ x: Tensor) -> Tensor { x + offset }
    func visit(_ v: inout TensorVisitor) { v.parameter("offset", offset) }
}

/// Records the phase it was called in.
private final class PhaseProbe: Layer {
    var seen: [LearningPhase] = []
    func callAsFunction(_ x: Tensor) -> Tensor { seen.append(LearningPhase.current); return x }
    func visit(_ v: inout TensorVisitor) {}
}

@Suite("Layers")
struct LayerTests {
    // MARK: Linear

    @Test("Linear: y = x·Wᵀ + b, W is [out, in], PyTorch default init bounds")
    func linearValues() {
        var g = SeededGenerator(seed: 11)
        let layer = Linear(inFeatures: 4, outFeatures: 3, generator: &g)
        #expect(layer.weight.shape == [3, 4])
        #expect(layer.bias?.shape == [3])
        #expect(layer.weight.requiresGrad && layer.bias!.requiresGrad)
        // U(−1/√4, 1/√4) for weight and bias.
        #expect(layer.weight.scalars.allSatisfy { Swift.abs($0) <= 0.5 })
        #expect(layer.bias!.scalars.allSatisfy { Swift.abs($0) <= 0.5 })
        let x = Fixtures.normal([2, 4], seed: 3)
        let y = layer(x)
        #expect(y.shape == [2, 3])
        let (w, b, xs) = (layer.weight.scalars, layer.bias!.scalars, x.scalars)
        var expected: [Double] = []
        for n in 0..<2 { for o in 0..<3 {
            expected.append(Double(b[o]) + (0..<4).reduce(0.0) { $0 + Double(xs[n * 4 + $1]) * Double(w[o * 4 + $1]) })
        } }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-5, atol: 1e-6, "linear")

        let noBias = Linear(inFeatures: 4, outFeatures: 3, bias: false, generator: &g)
        #expect(noBias.bias == nil)
        #expect(noBias.namedTensors.map(\.name) == ["weight"])
        NNTestKit.expectClose(noBias(x).scalars, matmul(x, noBias.weight, transposeB: true).scalars, "linear without bias")
    }

    @Test("Linear: gradients of weight, bias and input pass a gradient check")
    func linearGradients() {
        var g = SeededGenerator(seed: 12)
        let layer = Linear(inFeatures: 3, outFeatures: 2, generator: &g)
        let x = Fixtures.normal([4, 3], seed: 5)
        let reports = GradCheck().firstOrder([x, layer.weight, layer.bias!]) { a in linear(a[0], weight: a[1], bias: a[2]) }
        #expect(GradCheck.allPassed(reports), "\(reports)")
        // The layer's own gradient (accumulated by backward) equals x-weighted upstream sums.
        let up = Fixtures.normal([4, 2], seed: 6)
        (layer(x) * up).sum().backward()
        let expected = matmul(up, x, transposeA: true)   // ∂/∂W = upᵀx
        NNTestKit.expectClose(layer.weight.grad!.scalars, expected.scalars, rtol: 1e-5, atol: 1e-6, "dW")
        NNTestKit.expectClose(layer.bias!.grad!.scalars, up.sum(axis: 0).scalars, rtol: 1e-5, atol: 1e-6, "db")
        layer.zeroGrad()
        #expect(layer.weight.grad == nil && layer.bias!.grad == nil)
    }

    // MARK: Conv2d

    @Test("Conv2d: output equals TensorCore conv2d with the layer's weight, bias, stride and padding")
    func conv2dValues() {
        var g = SeededGenerator(seed: 13)
        let layer = Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        #expect(layer.weight.shape == [3, 2, 3, 3])
        #expect(layer.bias?.shape == [3])
        let bound = 1 / Float(18).squareRoot()
        #expect(layer.weight.scalars.allSatisfy { Swift.abs($0) <= bound })
        let x = Fixtures.normal([2, 2, 5, 5], seed: 8)
        let y = layer(x)
        #expect(y.shape == [2, 3, 3, 3])
        #expect(layer.lastInputShape == [2, 2, 5, 5])
        // Independent direct convolution.
        let (w, b, xs) = (layer.weight.scalars, layer.bias!.scalars, x.scalars)
        var expected: [Double] = []
        for n in 0..<2 { for o in 0..<3 { for oy in 0..<3 { for ox in 0..<3 {
            var s = Double(b[o])
            for c in 0..<2 { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx
                guard iy >= 0, iy < 5, ix >= 0, ix < 5 else { continue }
                s += Double(xs[((n * 2 + c) * 5 + iy) * 5 + ix]) * Double(w[((o * 2 + c) * 3 + ky) * 3 + kx])
            } } }
            expected.append(s)
        } } } }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-5, atol: 1e-5, "conv2d")
        let noBias = Conv2d(inChannels: 2, outChannels: 3, kernelSize: 1, bias: false, generator: &g)
        #expect(noBias.namedTensors.map(\.name) == ["weight"])
        NNTestKit.expectClose(noBias(x).scalars, conv2d(x, weight: noBias.weight).scalars, "conv2d without bias")
    }

    // MARK: BatchNorm

    @Test("BatchNorm: training uses batch statistics and updates running stats (momentum 0.1, unbiased variance)")
    func batchNormTraining() {
        let bn = BatchNorm(features: 2)
        #expect(bn.weight!.scalars == [1, 1] && bn.bias!.scalars == [0, 0])
        #expect(bn.runningMean.scalars == [0, 0] && bn.runningVar.scalars == [1, 1])
        bn.weight!.assign(Tensor([2, 0.5]))
        bn.bias!.assign(Tensor([1, -1]))
        let x = Fixtures.normal([4, 2, 2, 2], seed: 21, std: 2)
        let y = training { bn(x) }
        let xs = x.scalars
        var expected = [Double](repeating: 0, count: xs.count)
        for c in 0..<2 {
            var values: [(Int, Double)] = []
            for n in 0..<4 { for k in 0..<4 { let i = (n * 2 + c) * 4 + k; values.append((i, Double(xs[i]))) } }
            let mean = values.reduce(0) { $0 + $1.1 } / 16
            let varBiased = values.reduce(0) { $0 + ($1.1 - mean) * ($1.1 - mean) } / 16
            let (w, b) = c == 0 ? (2.0, 1.0) : (0.5, -1.0)
            for (i, v) in values { expected[i] = (v - mean) / (varBiased + 1e-5).squareRoot() * w + b }
            #expect(NNTestKit.relativelyClose(Double(bn.runningMean.scalars[c]), 0.1 * mean, 1e-4) || Swift.abs(Double(bn.runningMean.scalars[c]) - 0.1 * mean) < 1e-6)
            #expect(NNTestKit.relativelyClose(Double(bn.runningVar.scalars[c]), 0.9 + 0.1 * varBiased * 16 / 15, 1e-5))
        }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-4, atol: 1e-4, "training output")
        #expect(bn.numBatchesTracked.item == 1)

        // Evaluation: running statistics, no update.
        let (rm, rv) = (bn.runningMean.scalars, bn.runningVar.scalars)
        let z = bn(x)
        #expect(bn.runningMean.scalars == rm && bn.runningVar.scalars == rv)
        #expect(bn.numBatchesTracked.item == 1)
        var evalExpected = [Double](repeating: 0, count: xs.count)
        for i in xs.indices {
            let c = (i / 4) % 2
            let (w, b) = c == 0 ? (2.0, 1.0) : (0.5, -1.0)
            evalExpected[i] = (Double(xs[i]) - Double(rm[c])) / (Double(rv[c]) + 1e-5).squareRoot() * w + b
        }
        NNTestKit.expectClose(z.scalars, evalExpected, rtol: 1e-5, atol: 1e-5, "eval output")
    }

    @Test("BatchNorm: names, 1-d input, no affine parameters when affine is false")
    func batchNormNamesAndNonAffine() {
        let bn = BatchNorm(features: 3)
        #expect(bn.namedTensors.map(\.name) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        #expect(bn.namedTensors.map(\.role) == [.parameter, .parameter, .buffer, .buffer, .buffer])
        let plain = BatchNorm(features: 3, affine: false)
        #expect(plain.weight == nil && plain.bias == nil && plain.parameterCount == 0)
        let x = Fixtures.normal([5, 3], seed: 4)
        let y = training { plain(x) }
        #expect(y.shape == [5, 3])
        // Each column is standardised.
        for c in 0..<3 {
            let col = (0..<5).map { Double(y.scalars[$0 * 3 + c]) }
            let mean = col.reduce(0, +) / 5
            let variance = col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
            #expect(Swift.abs(mean) < 1e-5)
            #expect(Swift.abs(variance - 1) < 1e-3)
        }
    }

    // MARK: Pooling, flatten, dropout

    @Test("Pooling and flatten layers equal the TensorCore operations")
    func poolingAndFlatten() {
        let x = Fixtures.distinct([2, 3, 4, 4], seed: 2)
        #expect(MaxPool2d(kernelSize: 2)(x).scalars == x.maxPool2d(kernelSize: 2, stride: 2).scalars)
        #expect(MaxPool2d(kernelSize: 2)(x).shape == [2, 3, 2, 2])
        #expect(MaxPool2d(kernelSize: 3, stride: 1, padding: 1)(x).scalars == x.maxPool2d(kernelSize: 3, stride: 1, padding: 1).scalars)
        #expect(AvgPool2d(kernelSize: 2)(x).scalars == x.avgPool2d(kernelSize: 2, stride: 2).scalars)
        let gap = AdaptiveAvgPool2d()(x)
        #expect(gap.shape == [2, 3, 1, 1])
        NNTestKit.expectClose(gap.scalars, x.mean(axes: [2, 3]).scalars, "global average pool")
        let f = Flatten()(x)
        #expect(f.shape == [2, 48])
        #expect(f.scalars == x.scalars)
        for layer in [MaxPool2d(kernelSize: 2), AvgPool2d(kernelSize: 2), AdaptiveAvgPool2d(), Flatten()] as [any Layer] {
            #expect(layer.namedTensors.isEmpty)
        }
    }

    @Test("Dropout: identity in evaluation; in training zeros ≈p of the values and scales the rest by 1/(1−p)")
    func dropoutPhases() {
        let p: Float = 0.25
        let d = Dropout(probability: p, seed: 9)
        let x = Fixtures.uniform([100, 100], seed: 3, low: 1, high: 2)
        #expect(d(x).scalars == x.scalars)
        #expect(inference { d(x) }.scalars == x.scalars)
        let y = training { d(x) }
        let (xs, ys) = (x.scalars, y.scalars)
        var zeros = 0
        for i in xs.indices {
            if ys[i] == 0 { zeros += 1 } else { #expect(Swift.abs(ys[i] - xs[i] / (1 - p)) <= 1e-6 * xs[i]) }
        }
        #expect(Swift.abs(Double(zeros) / 10_000 - Double(p)) < 0.02, "dropped fraction \(Double(zeros) / 10_000)")
        // Seeded: the same seed gives the same mask; reseeding restarts the stream.
        let again = Dropout(probability: p, seed: 9)
        #expect(training { again(x) }.scalars == ys)
        #expect(training { d(x) }.scalars != ys)
        d.reseed(9)
        #expect(training { d(x) }.scalars == ys)
        #expect(training { Dropout(probability: 0, seed: 1)(x) }.scalars == xs)
        // Gradients flow through the kept elements with the same scale.
        let xg = x.copy().requiringGrad()
        let again2 = Dropout(probability: p, seed: 9)
        let out = training { again2(xg) }
        let grad = gradients(of: out.sum(), wrt: [xg])[0].scalars
        for i in xs.indices { #expect(grad[i] == (ys[i] == 0 ? 0 : 1 / (1 - p))) }
    }

    // MARK: Sequential and the learning phase

    @Test("Sequential applies its layers in order and names children 0, 1, …")
    func sequentialOrder() {
        let s = Sequential([ScaleLayer(2), ShiftLayer(1), ScaleLayer(3)])
        let x = Tensor([1, -2, 0.5])
        NNTestKit.expectClose(s(x).scalars, [9, -9, 6] as [Double], "3·(2x + 1)")   // not 2·(3x)+1 or any other order
        let reversed = Sequential([ScaleLayer(3), ShiftLayer(1), ScaleLayer(2)])
        NNTestKit.expectClose(reversed(x).scalars, [8, -10, 5] as [Double], "2·(3x + 1)")
        #expect(s.namedTensors.map(\.name) == ["1.offset"])
        #expect(s.allLayers.map(\.path) == ["", "0", "1", "2"])
        #expect(s.allLayers[2].layer === s.layers[1])
        let nested = Sequential([Sequential([ShiftLayer(1)]), ShiftLayer(2)])
        #expect(nested.namedTensors.map(\.name) == ["0.0.offset", "1.offset"])
        #expect(Sequential([]) (x).scalars == x.scalars)
    }

    @Test("LearningPhase: inference by default; training {} and inference {} scope the phase")
    func learningPhase() {
        #expect(LearningPhase.current == .inference)
        #expect(!LearningPhase.isTraining)
        let probe = PhaseProbe()
        let x = Tensor([1])
        _ = probe(x)
        training {
            #expect(LearningPhase.isTraining)
            _ = probe(x)
            inference {
                #expect(LearningPhase.current == .inference)
                _ = probe(x)
            }
            #expect(LearningPhase.isTraining)
        }
        #expect(LearningPhase.current == .inference)
        _ = probe.predict(x)
        #expect(probe.seen == [.inference, .training, .inference, .inference])
        // predict runs in evaluation without recording, even inside training {}.
        let shift = ShiftLayer(1)
        let y = training { shift.predict(Tensor([1]).requiringGrad()) }
        #expect(!y.requiresGrad)
        #expect(training { () -> LearningPhase in _ = probe.predict(x); return LearningPhase.current } == .training)
        #expect(probe.seen.last == .inference)
        // Returns and rethrows.
        struct Boom: Error {}
        #expect(throws: Boom.self) { try training { throw Boom() } }
    }

    @Test("Layer extension: parameters, buffers, parameterCount, zeroGrad")
    func layerExtension() {
        let bn = BatchNorm(features: 4)
        #expect(bn.parameters.count == 2)
        #expect(bn.parameters[0] === bn.weight && bn.parameters[1] === bn.bias)
        #expect(bn.namedBuffers.map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
        #expect(bn.namedParameters.map(\.name) == ["weight", "bias"])
        #expect(bn.parameterCount == 8)
        #expect(bn.namedParameters.allSatisfy { !$0.noWeightDecay })
        #expect(bn.namedBuffers.allSatisfy { $0.noWeightDecay })
    }
}
