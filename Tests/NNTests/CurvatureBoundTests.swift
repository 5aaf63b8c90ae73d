import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// The data-free curvature bound (SPEC B8; paper Theorem 1 / eq. 6):
/// `Σᵢ nᵢ·βᵢ·Πⱼ≤ᵢ Lipⱼ`, recomputed by hand here with independently computed Lipschitz constants.
@Suite("Curvature bound")
struct CurvatureBoundTests {
    static func sigmaMax(_ t: Tensor) -> Double {
        NNTestKit.largestSingularValue(t.scalars.map(Double.init), rows: t.shape[0], cols: t.count / t.shape[0])
    }

    @Test("Standard MLP 2→3→4→2 with weights set by hand: 3·β·L₁ + 4·β·L₁·L₂ (β = 1000)")
    func standardMLPByHand() throws {
        let config = ModelConfig(architecture: .mlp, inputShape: [2], classes: 2, hiddenWidths: [3, 4], batchNorm: false)
        let model = config.makeModel()
        let linears = model.sublayers(of: Linear.self)
        try #require(linears.count == 3)
        linears[0].weight.assign(Tensor([2, 0, 0, 1, 0, 0], shape: [3, 2]))               // ‖·‖₂ = 2
        linears[1].weight.assign(Tensor([1, 2, 0, 0, 1, 1, -1, 0, 0.5, 0, 3, 1], shape: [4, 3]))
        linears[2].weight.assign(Tensor([1, 1, 1, 1, 0, 1, 0, -1], shape: [2, 4]))
        let l1 = 2.0, l2 = Self.sigmaMax(linears[1].weight), l3 = Self.sigmaMax(linears[2].weight)
        let bound = CurvatureBound.compute(for: model, inputShape: [2])
        let expected = 3 * 1000 * l1 + 4 * 1000 * l1 * l2
        #expect(NNTestKit.relativelyClose(bound.value, expected, 1e-4), "bound \(bound.value), by hand \(expected)")
        #expect(bound.terms.map(\.width) == [3, 4])
        #expect(bound.terms.map(\.curvature) == [1000, 1000])
        #expect(bound.terms.map(\.layer) == ["layers.1", "layers.3"])
        #expect(NNTestKit.relativelyClose(bound.terms[1].lipschitzProduct, l1 * l2, 1e-4))
        // The last linear layer adds no term, only its Lipschitz constant to the running product.
        #expect(NNTestKit.relativelyClose(bound.lipschitzProduct, l1 * l2 * l3, 1e-4))
        #expect(NNTestKit.relativelyClose(bound.logValue, Foundation.log(bound.value), 1e-12))
    }

    @Test("LCNN MLP: spectral norm makes every Lip = 1, so the bound is Σ nᵢβᵢ with the learned βᵢ")
    func lcnnMLPByHand() throws {
        let config = ModelConfig(architecture: .mlp, lcnn: true, inputShape: [2], classes: 2, hiddenWidths: [3, 4], batchNorm: false)
        let model = config.makeModel()
        let linears = model.sublayers(of: SpectralNormLinear.self)
        try #require(linears.count == 3)
        for l in linears { l.iterate(200) }
        let acts = model.sublayers(of: CenteredSoftplus.self)
        acts[0].logBeta.assign(Tensor(Float(log(2.0))))
        acts[1].logBeta.assign(Tensor(Float(log(7.0))))
        let lips = linears.map { Self.sigmaMax($0.weight) / Double($0.spectralNorm().item) }
        for lip in lips { #expect(Swift.abs(lip - 1) < 1e-3) }
        let bound = CurvatureBound.compute(for: model, inputShape: [2])
        let expected = 3 * 2 * lips[0] + 4 * 7 * lips[0] * lips[1]
        #expect(NNTestKit.relativelyClose(bound.value, expected, 1e-3), "bound \(bound.value), by hand \(expected)")
        #expect(Swift.abs(bound.value - 34) < 0.1)
    }

    @Test("MLP with batch norm: BN Lipschitz constants enter the product (affine BN and γ-BN)")
    func mlpWithBatchNorm() throws {
        for lcnn in [false, true] {
            let config = ModelConfig(architecture: .mlp, lcnn: lcnn, inputShape: [2], classes: 2, hiddenWidths: [3, 4], batchNorm: true)
            let model = config.makeModel()
            var lips: [Double] = []
            if lcnn {
                let linears = model.sublayers(of: SpectralNormLinear.self)
                try #require(linears.count == 3)
                for l in linears { l.iterate(200) }
                lips = linears.map { Self.sigmaMax($0.weight) / Double($0.spectralNorm().item) }
                let bns = model.sublayers(of: LipschitzBatchNorm.self)
                try #require(bns.count == 2)
                bns[0].runningVar.assign(Tensor([0.04, 1, 2]))        // 1/s ≈ 5 > γ = 2: Lip 2
                bns[0].logLipschitz.assign(Tensor(Float(log(2.0))))
                bns[1].runningVar.assign(Tensor([4, 9, 16, 25]))      // 1/s ≈ 0.5 < γ = 10: Lip 0.5
                let bnLips = [2.0, 1 / (4 + 1e-5).squareRoot()]
                let expected = 5 * (3 * lips[0] * bnLips[0] + 4 * lips[0] * bnLips[0] * lips[1] * bnLips[1])
                let bound = CurvatureBound.compute(for: model, inputShape: [2])
                #expect(NNTestKit.relativelyClose(bound.value, expected, 1e-3), "LCNN: bound \(bound.value), by hand \(expected)")
            } else {
                let linears = model.sublayers(of: Linear.self)
                try #require(linears.count == 3)
                lips = linears.map { Self.sigmaMax($0.weight) }
                let bns = model.sublayers(of: BatchNorm.self)
                try #require(bns.count == 2)
                bns[0].weight!.assign(Tensor([0.5, -3, 1]))
                bns[0].runningVar.assign(Tensor([1, 4, 0.25]))        // |w|/√var = 0.5, 1.5, 2: Lip 2 (not max|w| = 3)
                bns[1].runningVar.assign(Tensor([4, 4, 4, 4]))        // 0.5
                let bnLips = [1 / (0.25 + 1e-5).squareRoot(), 1 / (4 + 1e-5).squareRoot()]
                let expected = 1000 * (3 * lips[0] * bnLips[0] + 4 * lips[0] * bnLips[0] * lips[1] * bnLips[1])
                let bound = CurvatureBound.compute(for: model, inputShape: [2])
                #expect(NNTestKit.relativelyClose(bound.value, expected, 1e-4), "Standard: bound \(bound.value), by hand \(expected)")
            }
        }
    }

    @Test("Parametric swish: its slope bound 1.0998 is part of the product up to and including its own term")
    func swishBound() throws {
        let config = ModelConfig(architecture: .mlp, activation: .swish, initialBeta: 3, inputShape: [2], classes: 2,
                                 hiddenWidths: [3, 4], batchNorm: false)
        let model = config.makeModel()
        let linears = model.sublayers(of: Linear.self)
        try #require(linears.count == 3)
        let l1 = Self.sigmaMax(linears[0].weight), l2 = Self.sigmaMax(linears[1].weight)
        let s = 1.0998
        let expected = 3 * 3 * l1 * s + 4 * 3 * l1 * s * l2 * s
        let bound = CurvatureBound.compute(for: model, inputShape: [2])
        #expect(NNTestKit.relativelyClose(bound.value, expected, 1e-4), "bound \(bound.value), by hand \(expected)")
    }

    @Test("Default MLPs: LCNN bound (β = 5, Lip ≈ 1) ≪ Standard bound (β = 1000); ReLU bound is infinite")
    func lcnnBelowStandard() {
        // Default configuration (with whatever batch-norm default it has: fresh BN has Lip ≈ 1).
        let standard = CurvatureBound.compute(for: ModelConfig(architecture: .mlp).makeModel(), inputShape: [2])
        let lcnn = CurvatureBound.compute(for: ModelConfig(architecture: .mlp, lcnn: true).makeModel(), inputShape: [2])
        #expect(lcnn.value < standard.value / 100, "LCNN \(lcnn.value), Standard \(standard.value)")
        // Two hidden layers of 64 with β = 5 and Lipschitz constants ≈ 1 (15 power-iteration steps).
        #expect(Swift.abs(lcnn.value - 640) / 640 < 0.05, "LCNN bound \(lcnn.value)")
        #expect(lcnn.logValue < standard.logValue)
        let relu = CurvatureBound.compute(for: ModelConfig(architecture: .mlp, activation: .relu).makeModel(), inputShape: [2])
        #expect(relu.value == .infinity && relu.logValue == .infinity)
        #expect(!relu.isDefined && relu.undefinedBy == relu.terms.map(\.layer) && relu.undefinedBy.count == 2)
        #expect(lcnn.isDefined && standard.isDefined)
        #expect(CurvatureBound().value == 0 && CurvatureBound().logValue == -.infinity)
    }

    @Test("Standard SmallCNN (small input): terms for act1, act2, act3 with widths 32·h₁·w₁, 64·h₂·w₂, 128; conv, BN and average-pool Lipschitz constants")
    func smallCNNTerms() throws {
        let config = ModelConfig(architecture: .smallcnn, inputShape: [1, 6, 6])
        let model = config.makeModel() as! SmallCNN
        // BN gains: Lip = max_c |w_c|/√(var_c + ε).
        let bn1 = try #require(model.bn1 as? BatchNorm), bn2 = try #require(model.bn2 as? BatchNorm)
        bn1.runningVar.assign(Fixtures.uniform([32], seed: 1, low: 0.5, high: 2))
        bn2.weight!.assign(Fixtures.uniform([64], seed: 2, low: -2, high: 2))
        let bound = CurvatureBound.compute(for: model, inputShape: [1, 6, 6])
        #expect(bound.terms.map(\.layer) == ["act1", "act2", "act3"])
        #expect(bound.terms.map(\.width) == [32 * 4 * 4, 64 * 2 * 2, 128])
        let conv1 = try #require(model.conv1 as? Conv2d), conv2 = try #require(model.conv2 as? Conv2d)
        let w1 = conv1.weight.detached(), w2 = conv2.weight.detached()
        let c1 = NNTestKit.explicitMatrix(inputShape: [1, 1, 6, 6]) { conv2d($0, weight: w1) }
        let lipConv1 = NNTestKit.largestSingularValue(c1.m, rows: c1.rows, cols: c1.cols)
        // conv2's matrix is 256×512, too large for the Jacobi reference in a debug build: its norm comes
        // from OperatorNorm.convolution, which LCNNBlockTests checks against explicit matrices.
        let lipConv2 = Double(OperatorNorm.convolution(w2, inputShape: [1, 32, 4, 4], stride: 1, padding: 0))
        let lipBN1 = zip(bn1.weight!.scalars, bn1.runningVar.scalars).map { Double(Swift.abs($0)) / (Double($1) + 1e-5).squareRoot() }.max()!
        let lipBN2 = zip(bn2.weight!.scalars, bn2.runningVar.scalars).map { Double(Swift.abs($0)) / (Double($1) + 1e-5).squareRoot() }.max()!
        let fc1 = try #require(model.fc1 as? Linear)
        let lipFC1 = Self.sigmaMax(fc1.weight)
        // Average pooling 2×2/2 (the default): ½; dropout: 1.
        #expect(model.pool is AvgPool2d)
        let p1 = lipConv1 * lipBN1, p2 = p1 * lipConv2 * lipBN2, p3 = p2 * 0.5 * lipFC1
        #expect(NNTestKit.relativelyClose(bound.terms[0].lipschitzProduct, p1, 2e-3))
        #expect(NNTestKit.relativelyClose(bound.terms[1].lipschitzProduct, p2, 2e-3))
        #expect(NNTestKit.relativelyClose(bound.terms[2].lipschitzProduct, p3, 3e-3))
        let expected = 1000 * (512 * p1 + 256 * p2 + 128 * p3)
        #expect(NNTestKit.relativelyClose(bound.value, expected, 3e-3), "bound \(bound.value), by hand \(expected)")
    }

    @Test("γ-Lipschitz BN enters the product as min(1/s, γ) in an LCNN SmallCNN")
    func lcnnSmallCNNWithGamma() throws {
        let model = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 6, 6]).makeModel() as! SmallCNN
        let bn1 = try #require(model.bn1 as? LipschitzBatchNorm), bn2 = try #require(model.bn2 as? LipschitzBatchNorm)
        bn1.runningVar.assign(Tensor.full([32], 0.01))                         // 1/s ≈ 10
        bn1.logLipschitz.assign(Tensor(Float(log(3.0))))                      // γ = 3 < 1/s: Lip 3
        bn2.runningVar.assign(Tensor.full([64], 4))                            // 1/s ≈ 0.5 < γ = 10: Lip 0.5
        let convs = model.sublayers(of: SpectralNormConv2d.self)
        let fcs = model.sublayers(of: SpectralNormLinear.self)
        for c in convs { c.iterate(100) }
        for f in fcs { f.iterate(100) }
        let bound = CurvatureBound.compute(for: model, inputShape: [1, 6, 6])
        let lip2 = 1 / (4 + 1e-5).squareRoot()
        let expected = 5 * (512 * 3 + 256 * 3 * lip2 + 128 * 3 * lip2 * 0.5)   // average pool: ½
        #expect(NNTestKit.relativelyClose(bound.value, expected, 5e-3), "bound \(bound.value), by hand \(expected)")
    }

    @Test("Residual block: h·(Lip F + Lip S) with h = ½ in LCNN form and 1 in Standard form")
    func residualBlock() {
        for lcnn in [false, true] {
            var factory = LayerFactory(config: ModelConfig(architecture: .resnet18, lcnn: lcnn, inputShape: [2, 4, 4]))
            let block = BasicBlock(2, 3, stride: 2, inputSize: (4, 4), factory: &factory)
            let x = [1, 2, 4, 4]
            // Lipschitz constants of the pieces, computed independently on explicit matrices.
            func convLip(_ layer: any Layer, inputShape: [Int]) -> Double {
                if let c = layer as? Conv2d {
                    let w = c.weight.detached()
                    let m = NNTestKit.explicitMatrix(inputShape: inputShape) { conv2d($0, weight: w, stride: c.stride, padding: c.padding) }
                    return NNTestKit.largestSingularValue(m.m, rows: m.rows, cols: m.cols)
                }
                let s = layer as! SpectralNormConv2d
                s.iterate(300)
                let w = s.weight.detached()
                let m = NNTestKit.explicitMatrix(inputShape: inputShape) { conv2d($0, weight: w, stride: s.stride, padding: s.padding) }
                return NNTestKit.largestSingularValue(m.m, rows: m.rows, cols: m.cols) / Double(s.spectralNorm().item)
            }
            func bnLip(_ layer: any Layer) -> Double {
                if let b = layer as? BatchNorm {
                    b.runningVar.assign(Fixtures.uniform([b.features], seed: 5, low: 0.3, high: 3))
                    return zip(b.weight!.scalars, b.runningVar.scalars).map { Double(Swift.abs($0)) / (Double($1) + 1e-5).squareRoot() }.max()!
                }
                let b = layer as! LipschitzBatchNorm
                b.runningVar.assign(Fixtures.uniform([3], seed: 6, low: 0.3, high: 3))
                b.logLipschitz.assign(Tensor(Float(log(1.5))))
                let s = (Double(b.runningVar.scalars.min()!) + 1e-5).squareRoot()
                return Swift.min(1 / s, 1.5)
            }
            let lc1 = convLip(block.conv1, inputShape: x), lb1 = bnLip(block.bn1)
            let lc2 = convLip(block.conv2, inputShape: [1, 3, 2, 2]), lb2 = bnLip(block.bn2)
            let shortcut = block.shortcut!
            let ls1 = convLip(shortcut.layers[0], inputShape: x), ls2 = bnLip(shortcut.layers[1])
            #expect(block.halveSum == lcnn)
            let beta = lcnn ? 5.0 : 1000.0
            let h = lcnn ? 0.5 : 1.0
            let blockLip = h * (lc1 * lb1 * lc2 * lb2 + ls1 * ls2)
            let expected = beta * (12 * lc1 * lb1 + 12 * blockLip)   // act1 and act2: 3 channels × 2×2
            let bound = CurvatureBound.compute(for: block, inputShape: [2, 4, 4])
            #expect(bound.terms.map(\.width) == [12, 12])
            #expect(NNTestKit.relativelyClose(bound.value, expected, 2e-3), "lcnn \(lcnn): bound \(bound.value), by hand \(expected)")
            #expect(NNTestKit.relativelyClose(bound.lipschitzProduct, blockLip, 2e-3))
        }
    }

    // MARK: Summary

    @Test("The terms sum to the value and the shares to 1 (Standard and LCNN SmallCNN, MLP, ResNet block)")
    func termsSumToValue() {
        var models: [(any Layer, [Int])] = [
            (ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8]).makeModel(), [1, 8, 8]),
            (ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel(), [1, 8, 8]),
            (ModelConfig(architecture: .mlp, lcnn: true).makeModel(), [2]),
        ]
        var factory = LayerFactory(config: ModelConfig(architecture: .resnet18, lcnn: true, inputShape: [2, 4, 4]))
        models.append((BasicBlock(2, 3, stride: 2, inputSize: (4, 4), factory: &factory), [2, 4, 4]))
        for (model, shape) in models {
            let bound = CurvatureBound.compute(for: model, inputShape: shape)
            let summary = bound.summary
            #expect(bound.isDefined && summary.isDefined)
            let sum = bound.terms.reduce(0) { $0 + $1.contribution }
            #expect(sum == bound.value, "terms add up to the bound exactly")
            #expect(summary.value == bound.value && summary.logValue == bound.logValue)
            #expect(summary.terms.map(\.layer) == bound.terms.map(\.layer))
            let shares = summary.terms.compactMap(\.share)
            #expect(shares.count == summary.terms.count)
            #expect(Swift.abs(shares.reduce(0, +) - 1) < 1e-12, "shares \(shares)")
            for (t, r) in zip(bound.terms, summary.terms) {
                #expect(r.width == t.width && r.curvature == t.curvature && r.lipschitzProduct == t.lipschitzProduct
                        && r.contribution == t.contribution)
            }
            #expect(summary.note.hasPrefix("finite: "))
        }
    }

    @Test("Summary: Markdown table with one row per term and a total; JSON round trip, infinities as strings")
    func summaryTableAndJSON() throws {
        let finite = CurvatureBound.compute(for: ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel(),
                                            inputShape: [1, 8, 8]).summary
        let table = finite.markdownTable.split(separator: "\n").map(String.init)
        #expect(table.first == "| layer | width nᵢ | curvature bound Cᵢ (β) | Π Lip | contribution | share |")
        #expect(table.count == 2 + 3 + 1)
        #expect(table[2].hasPrefix("| act1 | 1152 | 5 | "))
        #expect(table.last!.hasPrefix("| **total** |") && table.last!.hasSuffix("| 100 % |"))
        let data = try JSONEncoder().encode(finite)
        #expect(try JSONDecoder().decode(CurvatureBoundSummary.self, from: data) == finite)

        // An undefined bound encodes with a plain JSONEncoder (no non-finite strategy needed).
        let undefined = CurvatureBound.compute(for: ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8], pooling: .max).makeModel(),
                                               inputShape: [1, 8, 8]).summary
        #expect(!undefined.isDefined && undefined.undefinedBy == ["pool"] && undefined.value == .infinity)
        #expect(undefined.note == "undefined: max-pool at pool has unbounded curvature at ties")
        #expect(undefined.terms.allSatisfy { $0.share == nil })
        #expect(undefined.markdownTable.contains("| pool | 256 | ∞ | "))
        let json = try JSONEncoder().encode(undefined)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"value\":\"inf\"") && text.contains("\"logValue\":\"inf\"") && !text.contains("share"))
        #expect(try JSONDecoder().decode(CurvatureBoundSummary.self, from: json) == undefined)
        // The toolkit's metric files write non-finite numbers the same way.
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        #expect(try decoder.decode(CurvatureBoundSummary.self, from: json) == undefined)
        // The empty bound: value 0, log −∞.
        let empty = CurvatureBound().summary
        #expect(empty.value == 0 && empty.logValue == -.infinity && empty.note == "finite: no non-linear layer")
        #expect(try JSONDecoder().decode(CurvatureBoundSummary.self, from: JSONEncoder().encode(empty)) == empty)
    }
}
