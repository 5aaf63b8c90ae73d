import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// The LCNN building blocks (SPEC B4–B6): spectrally normalised Linear, "real" spectral
/// normalisation of Conv2d, γ-Lipschitz batch norm. Singular values are checked against an
/// independent Double computation on the explicit matrix of each map.
@Suite("LCNN blocks")
struct LCNNBlockTests {
    // MARK: B4 SpectralNormLinear

    @Test("SpectralNormLinear: converged σ̂ = largest singular value of W; ‖W/σ̂‖₂ = 1", arguments: [(5, 4), (3, 7), (6, 6), (1, 3)])
    func linearSigma(shape: (inFeatures: Int, outFeatures: Int)) {
        let (i, o) = shape
        var g = SeededGenerator(seed: UInt64(10 * i + o))
        let layer = SpectralNormLinear(inFeatures: i, outFeatures: o, generator: &g)
        #expect(layer.weight.shape == [o, i] && layer.u.shape == [o] && layer.v.shape == [i])
        layer.iterate(200)
        let reference = NNTestKit.largestSingularValue(layer.weight.scalars.map(Double.init), rows: o, cols: i)
        let sigma = Double(layer.spectralNorm().item)
        #expect(NNTestKit.relativelyClose(sigma, reference, 1e-4), "σ̂ = \(sigma), σ_max = \(reference)")
        // u and v are unit vectors.
        #expect(Swift.abs(NNTestKit.norm(layer.u.scalars) - 1) < 1e-5 && Swift.abs(NNTestKit.norm(layer.v.scalars) - 1) < 1e-5)
        let normalized = inference { layer.normalizedWeight() }
        let n = NNTestKit.largestSingularValue(normalized.scalars.map(Double.init), rows: o, cols: i)
        #expect(Swift.abs(n - 1) <= 1e-3, "‖W/σ̂‖₂ = \(n)")
        // The layer's actual map (bias removed) has operator norm 1.
        let zero = layer(Tensor.zeros([1, i]))
        let map = NNTestKit.explicitMatrix(inputShape: [1, i]) { layer($0) - zero }
        #expect(Swift.abs(NNTestKit.largestSingularValue(map.m, rows: map.rows, cols: map.cols) - 1) <= 1e-3)
        NNTestKit.expectClose(zero.scalars, layer.bias!.scalars, "bias")
    }

    @Test("SpectralNormLinear: 15 power-iteration steps at creation")
    func linearInitialIterations() {
        var g1 = SeededGenerator(seed: 3), g2 = SeededGenerator(seed: 3)
        let byDefault = SpectralNormLinear(inFeatures: 4, outFeatures: 3, unitInitialNorm: false, generator: &g1)
        let manual = SpectralNormLinear(inFeatures: 4, outFeatures: 3, initialIterations: 0, unitInitialNorm: false, generator: &g2)
        #expect(byDefault.weight.scalars == manual.weight.scalars)
        #expect(byDefault.u.scalars != manual.u.scalars)
        manual.iterate(14)
        #expect(NNTestKit.maxAbsDifference(byDefault.u.scalars, manual.u.scalars) > 0 || byDefault.v.scalars != manual.v.scalars)
        manual.iterate(1)
        NNTestKit.expectClose(manual.u.scalars, byDefault.u.scalars, rtol: 0, atol: 1e-7, "u after 15 steps")
        NNTestKit.expectClose(manual.v.scalars, byDefault.v.scalars, rtol: 0, atol: 1e-7, "v after 15 steps")
    }

    @Test("spectrally normalised layers start with σ̂(W) = 1 and the function of the unscaled weight")
    func unitInitialNorm() {
        for seed: UInt64 in [1, 2] {
            var g1 = SeededGenerator(seed: seed), g2 = SeededGenerator(seed: seed)
            let unit = SpectralNormLinear(inFeatures: 40, outFeatures: 7, generator: &g1)
            let raw = SpectralNormLinear(inFeatures: 40, outFeatures: 7, unitInitialNorm: false, generator: &g2)
            #expect(abs(OperatorNorm.matrix(unit.weight) - 1) < 1e-3)
            #expect(OperatorNorm.matrix(raw.weight) < 0.9)   // fan-in initialisation: well below 1
            let x = Fixtures.normal([3, 40], seed: seed)
            NNTestKit.expectClose(unit.predict(x).scalars, raw.predict(x).scalars, rtol: 1e-4, atol: 1e-5, "same function")
            var g3 = SeededGenerator(seed: seed), g4 = SeededGenerator(seed: seed)
            let conv = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: 3, inputSize: (6, 6), generator: &g3)
            let rawConv = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: 3, inputSize: (6, 6), unitInitialNorm: false,
                                             generator: &g4)
            #expect(abs(withoutGrad { conv.spectralNorm() }.item - 1) < 1e-3)
            let image = Fixtures.normal([2, 2, 6, 6], seed: seed)
            NNTestKit.expectClose(conv.predict(image).scalars, rawConv.predict(image).scalars, rtol: 1e-4, atol: 1e-5, "same conv")
        }
    }

    @Test("SpectralNormLinear: a training forward runs one power-iteration step (v ← Wᵀu/‖·‖, u ← Wv/‖·‖); evaluation runs none")
    func linearForwardIterations() {
        var g = SeededGenerator(seed: 21)
        let layer = SpectralNormLinear(inFeatures: 4, outFeatures: 3, initialIterations: 0, generator: &g)
        let w = layer.weight.scalars.map(Double.init)
        let (u0, v0) = (layer.u.scalars, layer.v.scalars)
        let x = Fixtures.normal([2, 4], seed: 22)

        // Evaluation (default phase, explicit inference, predict): u and v untouched.
        _ = layer(x)
        _ = inference { layer(x) }
        _ = layer.predict(x)
        #expect(layer.u.scalars == u0 && layer.v.scalars == v0)

        // One step, computed independently in Double.
        let v1 = NNTestKit.normalized(NNTestKit.multiplyTransposed(w, rows: 3, cols: 4, u0.map(Double.init)))
        let u1 = NNTestKit.normalized(NNTestKit.multiply(w, rows: 3, cols: 4, v1))
        let y = training { layer(x) }
        NNTestKit.expectClose(layer.v.scalars, v1, rtol: 1e-5, atol: 1e-6, "v after one training forward")
        NNTestKit.expectClose(layer.u.scalars, u1, rtol: 1e-5, atol: 1e-6, "u after one training forward")
        // The output uses σ̂ = uᵀWv with the updated vectors.
        let wv = NNTestKit.multiply(w, rows: 3, cols: 4, v1)
        let sigma = zip(u1, wv).reduce(0) { $0 + $1.0 * $1.1 }
        let (xs, b) = (x.scalars.map(Double.init), layer.bias!.scalars.map(Double.init))
        var expected: [Double] = []
        for n in 0..<2 { for r in 0..<3 { expected.append(b[r] + (0..<4).reduce(0) { $0 + xs[n * 4 + $1] * w[r * 4 + $1] } / sigma) } }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-4, atol: 1e-5, "training output")

        // A second training forward runs a second step.
        let (u1f, v1f) = (layer.u.scalars, layer.v.scalars)
        _ = training { layer(x) }
        #expect(layer.u.scalars != u1f || layer.v.scalars != v1f)
        let (u2, v2) = (layer.u.scalars, layer.v.scalars)
        _ = layer(x)
        #expect(layer.u.scalars == u2 && layer.v.scalars == v2)
        // The power iteration is not recorded: the buffers carry no graph.
        #expect(!layer.u.requiresGrad && !layer.v.requiresGrad)
    }

    @Test("SpectralNormLinear: the gradient reaches the raw weight through W and σ̂ (u, v fixed)")
    func linearGradientThroughSigma() {
        var g = SeededGenerator(seed: 31)
        let layer = SpectralNormLinear(inFeatures: 4, outFeatures: 3, generator: &g)
        let x = Fixtures.normal([5, 4], seed: 32)
        let up = Fixtures.normal([5, 3], seed: 33)
        // Evaluation mode: u and v stay fixed, so the map W ↦ output is the one differentiated.
        let analytic = gradients(of: (layer(x) * up).sum(), wrt: [layer.weight])[0].scalars
        let numeric = NNTestKit.numericGradient(of: layer.weight) { (layer(x) * up).sum().item }
        NNTestKit.expectClose(analytic, numeric.map(Double.init), rtol: 1e-2, atol: 2e-3, "∂/∂W through the layer")

        // GradCheck of the same function of the raw weight, written out with the layer's u, v.
        let (u, v) = (layer.u.copy(), layer.v.copy())
        let f: ([Tensor]) -> Tensor = { a in
            let sigma = matmul(matmul(u.reshaped(to: [1, -1]), a[0]), v.reshaped(to: [-1, 1])).reshaped(to: [])
            return linear(x, weight: a[0] / sigma, bias: nil)
        }
        let reports = GradCheck().firstOrder([layer.weight.detached()], f)
        #expect(GradCheck.allPassed(reports), "\(reports)")
        let explicitGrad = { () -> [Float] in
            let w = layer.weight.copy().requiringGrad()
            return gradients(of: (f([w]) * up).sum(), wrt: [w])[0].scalars
        }()
        NNTestKit.expectClose(analytic, explicitGrad.map(Double.init), rtol: 1e-4, atol: 1e-6, "layer vs explicit formula")

        // The σ̂ path matters: treating σ̂ as a constant gives a clearly different gradient.
        let sigma = layer.spectralNorm().item
        let constantSigma = matmul(up, x, transposeA: true).scalars.map { $0 / sigma }
        #expect(NNTestKit.maxAbsDifference(analytic, constantSigma) > 0.05, "σ̂ must be differentiated")
        // Gradients also reach the bias and the input.
        let inputReports = GradCheck().firstOrder([x]) { layer($0[0]) }
        #expect(GradCheck.allPassed(inputReports), "\(inputReports)")
    }

    // MARK: B5 SpectralNormConv2d

    @Test("SpectralNormConv2d keeps σ̂'s weight-gradient while u and v hold, and recomputes it after a training step or a loaded u, v")
    func convSigmaCache() throws {
        var g = SeededGenerator(seed: 77)
        let layer = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, inputSize: (5, 5), generator: &g)
        let x = Tensor.normal([2, 2, 5, 5], generator: &g)
        /// ⟨u, conv(v; W)⟩ computed directly, with no cache.
        func direct() -> Float {
            withoutGrad { (layer.u * conv2d(layer.v, weight: layer.weight, stride: 1, padding: 1)).sum().item }
        }
        func check(_ what: String) {
            let sigma = withoutGrad { layer.spectralNorm() }.item, reference = direct()
            #expect(abs(sigma - reference) <= 1e-5 * abs(reference), "\(what): σ̂ \(sigma) vs \(reference)")
        }
        let first = inference { layer(x) }.scalars
        #expect(inference { layer(x) }.scalars == first)
        check("evaluation")
        _ = training { layer(x) }   // one power-iteration step moves u and v
        check("after a training step")
        var h = SeededGenerator(seed: 78)
        func unit(_ t: Tensor) -> Tensor { t / (t * t).sum().item.squareRoot() }
        layer.u.assign(unit(Tensor.normal(layer.u.shape, generator: &h)))
        layer.v.assign(unit(Tensor.normal(layer.v.shape, generator: &h)))
        check("after u and v were replaced, as a checkpoint load does")
        let reference = withoutGrad { conv2d(x, weight: layer.weight / direct(), bias: layer.bias, stride: 1, padding: 1) }.scalars
        let output = inference { layer(x) }.scalars
        let error = zip(output, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(error <= 1e-4 * max(1, reference.map(abs).max() ?? 0))
    }

    struct ConvCase: Sendable, CustomTestStringConvertible {
        let stride: Int, padding: Int, kernel: Int, height: Int, width: Int
        var testDescription: String { "s\(stride) p\(padding) k\(kernel) \(height)×\(width)" }
    }

    static let convCases: [ConvCase] = [
        ConvCase(stride: 1, padding: 0, kernel: 1, height: 5, width: 5),
        ConvCase(stride: 1, padding: 1, kernel: 1, height: 5, width: 5),
        ConvCase(stride: 1, padding: 0, kernel: 3, height: 5, width: 5),
        ConvCase(stride: 1, padding: 1, kernel: 3, height: 5, width: 6),
        ConvCase(stride: 2, padding: 0, kernel: 1, height: 6, width: 6),
        ConvCase(stride: 2, padding: 1, kernel: 1, height: 6, width: 6),
        ConvCase(stride: 2, padding: 0, kernel: 3, height: 6, width: 6),
        ConvCase(stride: 2, padding: 1, kernel: 3, height: 5, width: 6),
    ]

    @Test("SpectralNormConv2d: σ̂ = largest singular value of the explicit convolution matrix; the layer's map has norm 1",
          arguments: convCases)
    func convSigma(_ c: ConvCase) {
        var g = SeededGenerator(seed: UInt64(100 + c.stride * 8 + c.padding * 4 + c.kernel + c.width))
        let layer = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: c.kernel, stride: c.stride,
                                       padding: c.padding, inputSize: (c.height, c.width), generator: &g)
        let inputShape = [1, 2, c.height, c.width]
        #expect(layer.v.shape == inputShape)
        let outH = (c.height + 2 * c.padding - c.kernel) / c.stride + 1
        let outW = (c.width + 2 * c.padding - c.kernel) / c.stride + 1
        #expect(layer.u.shape == [1, 3, outH, outW])
        let w = layer.weight.detached()
        let conv = NNTestKit.explicitMatrix(inputShape: inputShape) { conv2d($0, weight: w, stride: c.stride, padding: c.padding) }
        let reference = NNTestKit.largestSingularValue(conv.m, rows: conv.rows, cols: conv.cols)

        layer.iterate(500)
        let sigma = Double(layer.spectralNorm().item)
        #expect(NNTestKit.relativelyClose(sigma, reference, 1e-3), "σ̂ = \(sigma), σ_max = \(reference)")
        let op = Double(OperatorNorm.convolution(w, inputShape: inputShape, stride: c.stride, padding: c.padding))
        #expect(NNTestKit.relativelyClose(op, reference, 1e-3), "OperatorNorm.convolution = \(op), σ_max = \(reference)")

        // The layer's own map in evaluation, bias removed: conv(·; W/σ̂), operator norm 1.
        let zero = layer(Tensor.zeros(inputShape))
        NNTestKit.expectClose(zero.scalars, (0..<zero.count).map { Double(layer.bias!.scalars[$0 / (outH * outW)]) },
                              "bias only for a zero input")
        let normalized = NNTestKit.explicitMatrix(inputShape: inputShape) { layer($0) - zero }
        NNTestKit.expectClose(normalized.m.map(Float.init), conv.m.map { $0 / sigma }, rtol: 1e-4, atol: 1e-6, "map = conv/σ̂")
        let norm = NNTestKit.largestSingularValue(normalized.m, rows: normalized.rows, cols: normalized.cols)
        #expect(Swift.abs(norm - 1) <= 1e-3, "operator norm after normalisation \(norm)")
    }

    @Test("SpectralNormConv2d: a training forward runs one step v ← convᵀ(u)/‖·‖, u ← conv(v)/‖·‖; evaluation none; gradient through σ̂")
    func convForwardIterationsAndGradient() {
        var g = SeededGenerator(seed: 41)
        let layer = SpectralNormConv2d(inChannels: 2, outChannels: 2, kernelSize: 3, stride: 2, padding: 1,
                                       inputSize: (5, 4), initialIterations: 0, generator: &g)
        let inputShape = [1, 2, 5, 4]
        let w = layer.weight.detached()
        let conv = NNTestKit.explicitMatrix(inputShape: inputShape) { conv2d($0, weight: w, stride: 2, padding: 1) }
        let (u0, v0) = (layer.u.scalars, layer.v.scalars)
        let x = Fixtures.normal([2, 2, 5, 4], seed: 42)
        _ = layer(x)
        _ = layer.predict(x)
        #expect(layer.u.scalars == u0 && layer.v.scalars == v0, "evaluation must not iterate")

        let v1 = NNTestKit.normalized(NNTestKit.multiplyTransposed(conv.m, rows: conv.rows, cols: conv.cols, u0.map(Double.init)))
        let u1 = NNTestKit.normalized(NNTestKit.multiply(conv.m, rows: conv.rows, cols: conv.cols, v1))
        // The training forward divides by the σ̂ its power-iteration step returns; its value and
        // gradient must be those of the evaluation forward (σ̂ = ⟨W, M⟩ taken over W) right after,
        // which uses the same, updated u and v.
        let probe = Fixtures.normal([2, 2, 3, 2], seed: 44)
        let (yTrain, gTrain) = training { () -> ([Float], [Float]) in
            let y = layer(x)
            return (y.scalars, gradients(of: (y * probe).sum(), wrt: [layer.weight])[0].scalars)
        }
        let yEval = layer(x)
        let gEval = gradients(of: (yEval * probe).sum(), wrt: [layer.weight])[0].scalars
        NNTestKit.expectClose(yTrain, yEval.scalars.map(Double.init), rtol: 1e-5, atol: 1e-6, "training value, σ̂ from the iteration")
        NNTestKit.expectClose(gTrain, gEval.map(Double.init), rtol: 1e-4, atol: 1e-6, "training gradient, σ̂ from the iteration")
        NNTestKit.expectClose(layer.v.scalars, v1, rtol: 1e-4, atol: 1e-6, "v after one training forward")
        NNTestKit.expectClose(layer.u.scalars, u1, rtol: 1e-4, atol: 1e-6, "u after one training forward")
        // σ̂ = ⟨u, conv(v)⟩.
        let cv = NNTestKit.multiply(conv.m, rows: conv.rows, cols: conv.cols, v1)
        let sigma = zip(u1, cv).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(NNTestKit.relativelyClose(Double(layer.spectralNorm().item), sigma, 1e-4))

        // Gradient w.r.t. the raw weight in evaluation (u, v fixed), through W and σ̂.
        let up = Fixtures.normal([2, 2, 3, 2], seed: 43)
        let analytic = gradients(of: (layer(x) * up).sum(), wrt: [layer.weight])[0].scalars
        let numeric = NNTestKit.numericGradient(of: layer.weight) { (layer(x) * up).sum().item }
        NNTestKit.expectClose(analytic, numeric.map(Double.init), rtol: 1e-2, atol: 3e-3, "∂/∂W through σ̂")
        let s = layer.spectralNorm().item
        let constantSigma = conv2dWeightGradient(input: x, gradOutput: up, kernelSize: (3, 3), stride: 2, padding: 1).scalars.map { $0 / s }
        #expect(NNTestKit.maxAbsDifference(analytic, constantSigma) > 0.05, "σ̂ must be differentiated")
        let reports = GradCheck().firstOrder([x]) { layer($0[0]) }
        #expect(GradCheck.allPassed(reports), "\(reports)")
    }

    @Test("iterate(n) returns σ̂ = ⟨u, A v⟩ of the updated u, v (conv and matrix paths); nil for no step")
    func iterateReturnsSigma() {
        var g = SeededGenerator(seed: 45)
        let conv = SpectralNormConv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1,
                                      inputSize: (6, 5), initialIterations: 0, generator: &g)
        let linear = SpectralNormLinear(inFeatures: 7, outFeatures: 5, initialIterations: 0, generator: &g)
        #expect(conv.iterate(0) == nil && linear.iterate(0) == nil)
        for steps in [1, 3] {
            let (c, l) = (conv.iterate(steps), linear.iterate(steps))
            // spectralNorm() takes ⟨W, M⟩ (conv) and uᵀWv (matrix) over the weight for the new u, v.
            let (cRef, lRef) = (Double(conv.spectralNorm().item), Double(linear.spectralNorm().item))
            #expect(c.map { NNTestKit.relativelyClose(Double($0), cRef, 1e-5) } == true, "conv: \(String(describing: c)) vs \(cRef)")
            #expect(l.map { NNTestKit.relativelyClose(Double($0), lRef, 1e-5) } == true, "linear: \(String(describing: l)) vs \(lRef)")
        }
    }

    @Test("SpectralNormConv2d: PyTorch names; 15 steps at creation")
    func convNamesAndInit() {
        var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
        let a = SpectralNormConv2d(inChannels: 1, outChannels: 2, kernelSize: 3, inputSize: (4, 4), generator: &g1)
        let b = SpectralNormConv2d(inChannels: 1, outChannels: 2, kernelSize: 3, inputSize: (4, 4), initialIterations: 0, generator: &g2)
        b.iterate(15)
        NNTestKit.expectClose(b.u.scalars, a.u.scalars, rtol: 0, atol: 1e-7, "u")
        NNTestKit.expectClose(b.v.scalars, a.v.scalars, rtol: 0, atol: 1e-7, "v")
        #expect(a.namedTensors.map(\.name) == ["bias", "parametrizations.weight.original",
                                               "parametrizations.weight.0._u", "parametrizations.weight.0._v"])
        #expect(a.namedTensors.map(\.role) == [.parameter, .parameter, .buffer, .buffer])
        let noBias = SpectralNormConv2d(inChannels: 1, outChannels: 2, kernelSize: 1, bias: false, inputSize: (3, 3), generator: &g1)
        #expect(noBias.bias == nil && noBias.parameterCount == 2)
    }

    @Test("SpectralNormConv2d stops with a message for an input of the wrong spatial size")
    func convWrongSize() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var g = SeededGenerator(seed: 1)
            let layer = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, inputSize: (5, 5), generator: &g)
            _ = layer(Tensor.zeros([1, 2, 6, 5]))
        }
        let text = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(text.contains("SpectralNormConv2d") && text.contains("[1, 2, 6, 5]") && text.contains("5×5"), "stderr: \(text)")
    }

    @Test("SpectralNormConv2d stops with a message for an input that is not NCHW")
    func convWrongRank() async {
        await #expect(processExitsWith: .failure) {
            var g = SeededGenerator(seed: 1)
            let layer = SpectralNormConv2d(inChannels: 2, outChannels: 3, kernelSize: 1, inputSize: (5, 5), generator: &g)
            _ = layer(Tensor.zeros([2, 5, 5]))
        }
    }

    // MARK: B6 LipschitzBatchNorm

    static let varianceSets: [[Float]] = [[1e-6, 0.5, 2, 9], [0.25, 0.3, 4, 1], [100, 50, 30, 20], [1e-3, 1e-6, 1, 1], [1, 1, 1, 1]]

    @Test("LipschitzBatchNorm: evaluation gain per channel is min(1/s, γ)·s/√(var+ε) and never exceeds γ",
          arguments: [0.5, 1, 10] as [Float])
    func lipschitzBatchNormGain(gamma: Float) {
        for (k, variances) in Self.varianceSets.enumerated() {
            let bn = LipschitzBatchNorm(features: 4)
            bn.runningVar.assign(Tensor(variances))
            let means = Fixtures.normal([4], seed: UInt64(k))
            bn.runningMean.assign(means)
            bn.logLipschitz.assign(Tensor(Float(log(Double(gamma)))))
            let s = (Double(variances.min()!) + 1e-5).squareRoot()
            let lip = Swift.min(1 / s, Double(gamma))
            #expect(NNTestKit.relativelyClose(Double(bn.runningScale), s, 1e-5))
            #expect(NNTestKit.relativelyClose(Double(bn.lipschitzConstant), lip, 1e-5), "vars \(variances), γ \(gamma)")
            #expect(Double(bn.lipschitzConstant) <= Double(gamma) * (1 + 1e-6))

            let x = Fixtures.normal([3, 4, 2, 2], seed: UInt64(50 + k), std: 3)
            let y = bn(x)
            let gains = variances.map { lip * s / (Double($0) + 1e-5).squareRoot() }
            let xs = x.scalars, ms = means.scalars
            let expected = xs.indices.map { i -> Double in let c = (i / 4) % 4; return (Double(xs[i]) - Double(ms[c])) * gains[c] }
            NNTestKit.expectClose(y.scalars, expected, rtol: 1e-4, atol: 1e-5, "vars \(variances), γ \(gamma)")
            #expect(gains.allSatisfy { $0 <= lip * (1 + 1e-9) } && NNTestKit.relativelyClose(gains.max()!, lip, 1e-9))

            // ‖out(x) − out(y)‖ ≤ γ‖x − y‖ for random pairs, including tiny differences in one channel.
            for p in 0..<12 {
                let a = Fixtures.normal([2, 4, 2, 2], seed: UInt64(1000 + p), std: 2)
                let b = p % 3 == 0 ? a + Fixtures.normal([2, 4, 2, 2], seed: UInt64(2000 + p), std: 1e-2)
                                   : Fixtures.normal([2, 4, 2, 2], seed: UInt64(2000 + p), std: 2)
                let dOut = NNTestKit.norm((bn(a) - bn(b)).scalars)
                let dIn = NNTestKit.norm((a - b).scalars)
                #expect(dOut <= Double(gamma) * dIn * (1 + 1e-4), "‖Δout‖ = \(dOut), γ‖Δx‖ = \(Double(gamma) * dIn)")
                #expect(dOut <= lip * dIn * (1 + 1e-4))
            }
        }
    }

    @Test("LipschitzBatchNorm: γ starts at 10, names as in the authors' code, no affine parameters")
    func lipschitzBatchNormParameters() {
        let bn = LipschitzBatchNorm(features: 3)
        #expect(Swift.abs(bn.gamma - 10) <= 1e-5)
        #expect(bn.logLipschitz.shape == [] && bn.logLipschitz.requiresGrad)
        #expect(bn.namedTensors.map(\.name) == ["log_lipschitz", "running_mean", "running_var", "num_batches_tracked"])
        #expect(bn.parameterCount == 1)
        #expect(bn.namedParameters[0].noWeightDecay)
        #expect(Swift.abs(LipschitzBatchNorm(features: 2, initialGamma: 0.3).gamma - 0.3) <= 1e-6)
    }

    @Test("LipschitzBatchNorm: log γ receives a gradient when γ < 1/s, none when 1/s binds")
    func lipschitzBatchNormGradient() {
        let x = Fixtures.normal([4, 3], seed: 61)
        let w = Fixtures.normal([4, 3], seed: 62)
        // γ = 0.5 < 1/s ≈ 1: out = γ·BN(x), so ∂/∂log γ Σ w·out = Σ w·out.
        let bn = LipschitzBatchNorm(features: 3, initialGamma: 0.5)
        let out = bn(x)
        let analytic = gradients(of: (out * w).sum(), wrt: [bn.logLipschitz])[0].item
        let numeric = NNTestKit.numericGradient(of: bn.logLipschitz) { (bn(x) * w).sum().item }[0]
        let direct = (out * w).sum().item
        #expect(analytic != 0)
        #expect(Swift.abs(analytic - direct) <= 1e-5 * Swift.abs(direct) + 1e-6, "\(analytic) vs Σ w·out \(direct)")
        #expect(Swift.abs(analytic - numeric) <= 1e-2 * Swift.abs(numeric) + 1e-3, "\(analytic) vs numeric \(numeric)")
        // Training mode (batch statistics) too.
        let trainingOut = training { bn(x) }
        let trainingGrad = gradients(of: (trainingOut * w).sum(), wrt: [bn.logLipschitz])[0].item
        #expect(Swift.abs(trainingGrad - (trainingOut * w).sum().item) <= 1e-4 * Swift.abs(trainingGrad) + 1e-6)
        #expect(trainingGrad != 0)

        // γ = 10 > 1/s: the clip 1/s binds and log γ gets no gradient.
        let clipped = LipschitzBatchNorm(features: 3)
        let g = gradients(of: (clipped(x) * w).sum(), wrt: [clipped.logLipschitz])[0].item
        #expect(g == 0)
    }

    @Test("LipschitzBatchNorm in training: batch statistics, s from the running variance before the update")
    func lipschitzBatchNormTraining() {
        let bn = LipschitzBatchNorm(features: 2, initialGamma: 0.25)
        bn.runningVar.assign(Tensor([4, 9]))            // s = √(4 + 1e-5) ≈ 2, min(1/s, γ) = 0.25
        let x = Fixtures.normal([6, 2], seed: 71, std: 2)
        let y = training { bn(x) }
        let s = (4 + 1e-5).squareRoot()
        let factor = s * 0.25
        let xs = x.scalars.map(Double.init)
        var expected = [Double](repeating: 0, count: 12)
        for c in 0..<2 {
            let col = (0..<6).map { xs[$0 * 2 + c] }
            let mean = col.reduce(0, +) / 6
            let variance = col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 6
            for n in 0..<6 { expected[n * 2 + c] = (col[n] - mean) / (variance + 1e-5).squareRoot() * factor }
            #expect(NNTestKit.relativelyClose(Double(bn.runningVar.scalars[c]), 0.9 * (c == 0 ? 4 : 9) + 0.1 * variance * 6 / 5, 1e-5))
            #expect(Swift.abs(Double(bn.runningMean.scalars[c]) - 0.1 * mean) <= 1e-6)
        }
        NNTestKit.expectClose(y.scalars, expected, rtol: 1e-4, atol: 1e-5, "training output")
        #expect(bn.numBatchesTracked.item == 1)
    }
}
