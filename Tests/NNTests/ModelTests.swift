import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// The models of SPEC §3 in Standard and LCNN form.
///
/// Parameter-count conventions (trainable scalars, as PyTorch's `sum(p.numel() for p in
/// model.parameters())`): convolutions of ResNets have no bias (BN follows), VGG and SmallCNN
/// convolutions do; batch norm is affine (weight + bias) in Standard form; running statistics
/// are buffers, not parameters. ResNet-18/34 are the common CIFAR ResNets (kuangliu/pytorch-cifar:
/// 11,173,962 and 21,282,122), VGG-11 the CIFAR VGG with BN and a single linear 512→10
/// (9,231,114), SmallCNN the PyTorch MNIST example net (1,199,882; 1,200,074 with BN after both
/// convolutions).
@Suite("Models")
struct ModelTests {
    // MARK: Parameter counts

    @Test("MLP parameter counts: default 2→64→64→10 is 5002; 2→64→64→2 is 4482")
    func mlpCounts() {
        let byDefault = ModelConfig(architecture: .mlp)
        #expect(byDefault.inputShape == [2] && byDefault.hiddenWidths == [64, 64] && byDefault.classes == 10)
        // Without batch norm: 2·64+64 + 64·64+64 + 64·10+10.
        let plain = ModelConfig(architecture: .mlp, batchNorm: false)
        #expect(plain.makeModel().parameterCount == 2 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10)
        #expect(plain.makeModel().parameterCount == 5002)
        #expect(ModelConfig(architecture: .mlp, classes: 2, batchNorm: false).makeModel().parameterCount == 4482)
        // With batch norm after each hidden layer: + 2·(64 + 64) affine parameters.
        #expect(ModelConfig(architecture: .mlp, batchNorm: true).makeModel().parameterCount == 5002 + 256)
        #expect(byDefault.makeModel().parameterCount == (byDefault.batchNorm ? 5258 : 5002))
        // LCNN: same weights and biases, plus one log β per activation (and one log γ per γ-BN).
        #expect(ModelConfig(architecture: .mlp, lcnn: true, batchNorm: false).makeModel().parameterCount == 5002 + 2)
        #expect(ModelConfig(architecture: .mlp, lcnn: true, batchNorm: true).makeModel().parameterCount == 5002 + 2 + 2)
        #expect(ModelConfig(architecture: .mlp, hiddenWidths: []).makeModel().parameterCount == 2 * 10 + 10)
    }

    @Test("SmallCNN parameter counts: 1,199,882 without BN, 1,200,074 with BN (Standard); LCNN adds 3 log β and 2 log γ and drops the affine BN parameters")
    func smallCNNCounts() {
        #expect(ModelConfig(architecture: .smallcnn, batchNorm: false).makeModel().parameterCount == 1_199_882)
        let withBN = ModelConfig(architecture: .smallcnn).makeModel()
        #expect(withBN.parameterCount == 1_200_074)
        let lcnn = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel()
        let standardSmall = ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8]).makeModel()
        #expect(lcnn.parameterCount == standardSmall.parameterCount - 2 * (32 + 64) + 3 + 2)
        // The BN switch does not affect the LCNN form (γ-BN is always there).
        #expect(ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8], batchNorm: false).makeModel().parameterCount
                == lcnn.parameterCount)
    }

    @Test("SmallCNN structure follows the MNIST example net")
    func smallCNNStructure() throws {
        let model = try #require(ModelConfig(architecture: .smallcnn).makeModel() as? SmallCNN)
        let c1 = try #require(model.conv1 as? Conv2d), c2 = try #require(model.conv2 as? Conv2d)
        #expect(c1.weight.shape == [32, 1, 3, 3] && c2.weight.shape == [64, 32, 3, 3])
        #expect(c1.stride == 1 && c1.padding == 0)
        #expect((model.fc1 as? Linear)?.weight.shape == [128, 9216])
        #expect((model.fc2 as? Linear)?.weight.shape == [10, 128])
        #expect(model.sublayers(of: Dropout.self).map(\.probability) == [0.25, 0.5])
        let pool = try #require(model.pool as? AvgPool2d, "average pooling by default")
        #expect(pool.kernelSize == 2 && pool.stride == 2 && pool.padding == 0)
        #expect(model.sublayers(of: Softplus.self).map(\.beta) == [1000, 1000, 1000])
        #expect((model.bn1 as? BatchNorm)?.features == 32 && (model.bn2 as? BatchNorm)?.features == 64)
    }

    @Test("ResNet-18 (11,173,962) and ResNet-34 (21,282,122) CIFAR parameter counts, Standard form",
          arguments: [(Architecture.resnet18, 11_173_962), (.resnet34, 21_282_122)])
    func resnetCounts(_ architecture: Architecture, _ count: Int) throws {
        let model = ModelConfig(architecture: architecture).makeModel()
        #expect(model.parameterCount == count)
        let resnet = try #require(model as? ResNet)
        #expect(resnet.stages.map { $0.layers.count } == (architecture == .resnet18 ? [2, 2, 2, 2] : [3, 4, 6, 3]))
        let stem = try #require(resnet.conv1 as? Conv2d)
        #expect(stem.weight.shape == [64, 3, 3, 3] && stem.stride == 1 && stem.padding == 1 && stem.bias == nil)
        #expect(model.sublayers(of: MaxPool2d.self).isEmpty, "CIFAR form: no max-pool")
        // Stage widths 64/128/256/512 with strides 1/2/2/2 in the first block.
        for (i, stage) in resnet.stages.enumerated() {
            let first = try #require(stage.layers.first as? BasicBlock)
            let conv = try #require(first.conv1 as? Conv2d)
            #expect(conv.outChannels == 64 << i && conv.stride == (i == 0 ? 1 : 2))
            #expect((first.shortcut == nil) == (i == 0))
            #expect(!first.halveSum)
        }
        #expect((resnet.linear as? Linear)?.weight.shape == [10, 512])
    }

    @Test("VGG-11 CIFAR parameter count 9,231,114 (BN, conv bias, linear 512→10)")
    func vggCount() throws {
        let model = ModelConfig(architecture: .vgg11).makeModel()
        #expect(model.parameterCount == 9_231_114)
        let vgg = try #require(model as? VGG)
        #expect(vgg.features.layers.compactMap { ($0 as? Conv2d)?.outChannels } == [64, 128, 256, 256, 512, 512, 512, 512])
        #expect(vgg.sublayers(of: AvgPool2d.self).count == 5 && vgg.sublayers(of: MaxPool2d.self).isEmpty)
        #expect((vgg.classifier as? Linear)?.weight.shape == [10, 512])
    }

    /// The LCNN count from the Standard one: affine BN weights and biases go, one log γ per BN and
    /// one log β per activation come.
    static func expectedLCNNCount(fromStandard model: any Layer) -> Int {
        let bns = model.sublayers(of: BatchNorm.self)
        let acts = model.sublayers(of: Softplus.self)
        return model.parameterCount - bns.reduce(0) { $0 + 2 * $1.features } + bns.count + acts.count
    }

    @Test("LCNN ResNet-18, ResNet-34 and VGG-11 build with the expected parameter counts (optimised builds only)",
          .enabled(if: NNTestKit.fullSizeModels, "full-size CIFAR models: optimised builds or LCNN_FULL_TESTS=1"),
          arguments: [Architecture.resnet18, .resnet34, .vgg11])
    func lcnnCIFARCounts(_ architecture: Architecture) {
        let standard = ModelConfig(architecture: architecture).makeModel()
        let lcnn = ModelConfig(architecture: architecture, lcnn: true).makeModel()
        #expect(lcnn.parameterCount == Self.expectedLCNNCount(fromStandard: standard))
        #expect(architecture != .resnet18 || lcnn.parameterCount == 11_173_962 - 2 * 4800 + 20 + 17)
        Self.expectSameStructure(standard, lcnn)
        if let resnet = lcnn as? ResNet {
            #expect(resnet.stages.flatMap(\.layers).allSatisfy { ($0 as? BasicBlock)?.halveSum == true })
        }
        let y = lcnn.predict(Fixtures.uniform([2, 3, 32, 32], seed: 1))
        #expect(y.shape == [2, 10] && y.isFinite)
    }

    // MARK: Standard vs LCNN form

    /// Same tree (paths), with Linear→SpectralNormLinear, Conv2d→SpectralNormConv2d,
    /// BatchNorm→LipschitzBatchNorm, Softplus→CenteredSoftplus and every other layer the same
    /// type; weights of the same shapes.
    static func expectSameStructure(_ standard: any Layer, _ lcnn: any Layer, sourceLocation: SourceLocation = #_sourceLocation) {
        let a = standard.allLayers, b = lcnn.allLayers
        #expect(a.map(\.path) == b.map(\.path), sourceLocation: sourceLocation)
        guard a.count == b.count else { return }
        for (x, y) in zip(a, b) {
            switch x.layer {
            case let l as Linear:
                let s = y.layer as? SpectralNormLinear
                #expect(s?.weight.shape == l.weight.shape && (s?.bias == nil) == (l.bias == nil), "\(x.path)", sourceLocation: sourceLocation)
            case let c as Conv2d:
                let s = y.layer as? SpectralNormConv2d
                #expect(s?.weight.shape == c.weight.shape && s?.stride == c.stride && s?.padding == c.padding
                        && (s?.bias == nil) == (c.bias == nil), "\(x.path)", sourceLocation: sourceLocation)
            case let n as BatchNorm:
                let l = y.layer as? LipschitzBatchNorm
                #expect(l?.runningMean.shape == n.runningMean.shape && Swift.abs((l?.gamma ?? 0) - 10) < 1e-4, "\(x.path)",
                        sourceLocation: sourceLocation)
            case is Softplus:
                #expect(Swift.abs(((y.layer as? CenteredSoftplus)?.beta ?? 0) - 5) < 1e-5, "\(x.path)", sourceLocation: sourceLocation)
            default:
                #expect(type(of: x.layer) == type(of: y.layer), "\(x.path)", sourceLocation: sourceLocation)
            }
        }
        #expect(lcnn.sublayers(of: Linear.self).isEmpty && lcnn.sublayers(of: Conv2d.self).isEmpty
                && lcnn.sublayers(of: BatchNorm.self).isEmpty && lcnn.sublayers(of: Softplus.self).isEmpty,
                sourceLocation: sourceLocation)
    }

    @Test("Configuration defaults: Standard uses softplus β = 1000; LCNN centered softplus β = 5 and γ = 10")
    func configDefaults() {
        let standard = ModelConfig(architecture: .resnet18)
        #expect(standard.activation == .softplus && standard.softplusBeta == 1000 && !standard.lcnn)
        #expect(standard.inputShape == [3, 32, 32] && standard.classes == 10 && standard.seed == 0)
        let lcnn = ModelConfig(architecture: .resnet18, lcnn: true)
        #expect(lcnn.activation == .centeredSoftplus && lcnn.initialBeta == 5 && lcnn.initialGamma == 10)
        #expect(ModelConfig(architecture: .smallcnn).inputShape == [1, 28, 28])
        #expect(ModelConfig(architecture: .vgg11).inputShape == [3, 32, 32])
        #expect(ModelConfig(architecture: .mlp, lcnn: true, activation: .swish).activation == .swish)
        // Codable round trip.
        let data = try! JSONEncoder().encode(lcnn)
        #expect(try! JSONDecoder().decode(ModelConfig.self, from: data) == lcnn)
    }

    @Test("Pooling: average by default in both forms; a stored configuration without `pooling` decodes as max")
    func poolingConfiguration() throws {
        for architecture in Architecture.allCases {
            #expect(ModelConfig(architecture: architecture).pooling == .average)
            #expect(ModelConfig(architecture: architecture, lcnn: true).pooling == .average)
        }
        #expect(PoolingKind.allCases.map(\.rawValue) == ["max", "average"])
        // Round trip keeps `.average` (and `.max`).
        for pooling in PoolingKind.allCases {
            let config = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8], seed: 3, pooling: pooling)
            let data = try JSONEncoder().encode(config)
            #expect(String(decoding: data, as: UTF8.self).contains("\"pooling\":\"\(pooling.rawValue)\""))
            #expect(try JSONDecoder().decode(ModelConfig.self, from: data) == config)
        }
        // A configuration as checkpoints stored it before the key existed: every other key kept, pooling max.
        let old = """
        {"architecture":"smallcnn","lcnn":true,"activation":"centered-softplus","softplusBeta":1000,"initialBeta":5,\
        "initialGamma":10,"inputShape":[1,28,28],"classes":10,"hiddenWidths":[64,64],"batchNorm":true,"seed":7}
        """
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: Data(old.utf8))
        #expect(decoded.pooling == .max)
        #expect(decoded == ModelConfig(architecture: .smallcnn, lcnn: true, activation: .centeredSoftplus, softplusBeta: 1000,
                                       initialBeta: 5, initialGamma: 10, inputShape: [1, 28, 28], classes: 10,
                                       hiddenWidths: [64, 64], batchNorm: true, seed: 7, pooling: .max))
        #expect((decoded.makeModel() as? SmallCNN)?.pool is MaxPool2d)
        // The encoding of the old keys is unchanged: the old JSON plus `pooling`.
        let reencoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(decoded)) as! [String: Any]
        let original = try JSONSerialization.jsonObject(with: Data(old.utf8)) as! [String: Any]
        #expect(Set(reencoded.keys) == Set(original.keys).union(["pooling"]))
        // Other keys stay required, as before.
        let missingSeed = old.replacingOccurrences(of: ",\"seed\":7", with: "")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ModelConfig.self, from: Data(missingSeed.utf8)) }
        // A bad pooling value is an error, not a silent default.
        let bad = old.replacingOccurrences(of: "\"seed\":7", with: "\"seed\":7,\"pooling\":\"min\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ModelConfig.self, from: Data(bad.utf8)) }
    }

    @Test("Pooling kind picks the SmallCNN pool layer; the checkpoint names do not depend on it")
    func poolingLayers() throws {
        let average = try #require(ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8]).makeModel() as? SmallCNN)
        let max = try #require(ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8], pooling: .max).makeModel() as? SmallCNN)
        #expect(average.pool is AvgPool2d && max.pool is MaxPool2d)
        #expect(average.allLayers.map(\.path) == max.allLayers.map(\.path))
        #expect(average.allLayers.contains { $0.path == "pool" })
        #expect(average.namedTensors.map(\.name) == max.namedTensors.map(\.name))
        // Max vs average pooling of the same activations.
        let x = Fixtures.uniform([2, 1, 8, 8], seed: 4)
        #expect(average.predict(x).shape == [2, 10] && max.predict(x).shape == [2, 10])
        #expect(average.predict(x).scalars != max.predict(x).scalars)
    }

    @Test("MLP and SmallCNN: LCNN form has the same tree with the LCNN layers swapped in")
    func lcnnFormsSwapLayers() {
        for bn in [false, true] {
            Self.expectSameStructure(ModelConfig(architecture: .mlp, batchNorm: bn).makeModel(),
                                     ModelConfig(architecture: .mlp, lcnn: true, batchNorm: bn).makeModel())
        }
        Self.expectSameStructure(ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8]).makeModel(),
                                 ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel())
        // Other activations are honoured in both forms.
        let relu = ModelConfig(architecture: .mlp, lcnn: true, activation: .relu).makeModel()
        #expect(relu.sublayers(of: ReLU.self).count == 2 && relu.sublayers(of: SpectralNormLinear.self).count == 3)
        let swish = ModelConfig(architecture: .mlp, activation: .swish, initialBeta: 3).makeModel()
        #expect(swish.sublayers(of: ParametricSwish.self).map { ($0.beta * 1000).rounded() / 1000 } == [3, 3])
    }

    @Test("The seed determines the weights")
    func seeding() {
        let a = ModelConfig(architecture: .mlp, seed: 7).makeModel(), b = ModelConfig(architecture: .mlp, seed: 7).makeModel()
        let c = ModelConfig(architecture: .mlp, seed: 8).makeModel()
        #expect(a.parameters.map(\.scalars) == b.parameters.map(\.scalars))
        #expect(a.parameters[0].scalars != c.parameters[0].scalars)
        // Every parameter has its own storage.
        let ids = Set(a.parameters.map(ObjectIdentifier.init))
        #expect(ids.count == a.parameters.count)
    }

    // MARK: Output shapes

    @Test("MLP and SmallCNN: output [2, classes] in both forms, finite, in training and evaluation")
    func smallModelShapes() {
        for lcnn in [false, true] {
            let mlp = ModelConfig(architecture: .mlp, lcnn: lcnn, classes: 3).makeModel()
            let x = Fixtures.normal([2, 2], seed: 1)
            #expect(mlp.predict(x).shape == [2, 3])
            #expect(training { mlp(x) }.shape == [2, 3])
            let cnn = ModelConfig(architecture: .smallcnn, lcnn: lcnn, inputShape: [1, 10, 10], classes: 4).makeModel()
            let images = Fixtures.uniform([2, 1, 10, 10], seed: 2)
            let y = cnn.predict(images)
            #expect(y.shape == [2, 4] && y.isFinite)
            #expect(training { cnn(images) }.shape == [2, 4])
        }
        let full = ModelConfig(architecture: .smallcnn).makeModel()
        #expect(full.predict(Fixtures.uniform([2, 1, 28, 28], seed: 3)).shape == [2, 10])
    }

    @Test("ResNet-18, ResNet-34, VGG-11 (Standard): output [2, 10] on 32×32 inputs", arguments: [Architecture.resnet18, .resnet34, .vgg11])
    func cifarShapes(_ architecture: Architecture) {
        // Full-size forward passes are slow with unoptimised kernels (debug builds): there, ResNets
        // see 4×4 inputs and VGG a narrow 3-pool layout on 8×8 (VGG-11 needs 32×32 for its five pools).
        let fast = NNTestKit.fullSizeModels
        let size = fast ? 32 : (architecture == .vgg11 ? 8 : 4)
        let config = ModelConfig(architecture: architecture, inputShape: [3, size, size], classes: 10)
        let model: any Layer
        if architecture == .vgg11 && !fast {
            var factory = LayerFactory(config: config)
            model = VGG(layout: [8, 0, 16, 16, 0, 16, 0], config: config, factory: &factory)
        } else {
            model = config.makeModel()
        }
        let x = Fixtures.uniform([2, 3, size, size], seed: 4)
        let y = model.predict(x)
        #expect(y.shape == [2, 10] && y.isFinite)
        // A debug-build forward of ResNet-34 takes seconds whatever the input size (per-weight
        // overhead), so the training-mode pass is left to optimised builds there.
        guard fast || architecture != .resnet34 else { return }
        let z = training { model(x) }
        #expect(z.shape == [2, 10] && z.isFinite)
    }

    @Test("ResNet block: act(F(x) + S(x)) in Standard form, act(½·(F(x) + S(x))) in LCNN form")
    func basicBlockForward() {
        for lcnn in [false, true] {
            for (input, output, stride) in [(2, 2, 1), (2, 3, 2)] {
                var factory = LayerFactory(config: ModelConfig(architecture: .resnet18, lcnn: lcnn, inputShape: [input, 4, 4]))
                let block = BasicBlock(input, output, stride: stride, inputSize: (4, 4), factory: &factory)
                #expect((block.shortcut == nil) == (input == output && stride == 1))
                let x = Fixtures.normal([2, input, 4, 4], seed: 9)
                let y = block(x)
                let main = block.bn2(block.conv2(block.act1(block.bn1(block.conv1(x)))))
                let skip = block.shortcut.map { $0(x) } ?? x
                let sum = main + skip
                let expected = block.act2(lcnn ? sum * 0.5 : sum)
                #expect(y.shape == [2, output, 4 / stride, 4 / stride])
                NNTestKit.expectClose(y.scalars, expected.scalars, rtol: 1e-5, atol: 1e-6, "lcnn \(lcnn) \(input)→\(output)")
                if lcnn {
                    // Not the unhalved sum.
                    #expect(NNTestKit.maxAbsDifference(y.scalars, block.act2(sum).scalars) > 1e-3)
                }
            }
        }
    }

    @Test("LCNN SmallCNN on 28×28: builds, 1,199,887 parameters, output [2, 10]")
    func lcnnSmallCNNFull() {
        let model = ModelConfig(architecture: .smallcnn, lcnn: true).makeModel()
        #expect(model.parameterCount == 1_199_882 + 3 + 2)
        let y = model.predict(Fixtures.uniform([2, 1, 28, 28], seed: 5))
        #expect(y.shape == [2, 10] && y.isFinite)
    }
}
