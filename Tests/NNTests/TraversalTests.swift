import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// Reflection over the stored properties of a layer tree, independent of `visit(_:)`: used to
/// prove that the explicit traversal names every tensor and every child layer.
enum LayerReflection {
    struct Found {
        /// Every stored tensor (including optional ones that are set), by identity, in discovery order.
        var tensors: [(path: String, tensor: Tensor)] = []
        /// Every layer reachable through stored properties (the root included).
        var layers: [(path: String, layer: any Layer)] = []
    }

    /// Walks every stored property of `root` with `Mirror`, recursing into layers (also when
    /// stored as `any Layer`, optionals or arrays), arrays, optionals, tuples, structs and enums;
    /// other class instances are walked too, once each.
    static func walk(_ root: any Layer) -> Found {
        var found = Found()
        var seen = Set<ObjectIdentifier>()
        func visit(_ value: Any, path: String) {
            if let tensor = value as? Tensor {
                if seen.insert(ObjectIdentifier(tensor)).inserted { found.tensors.append((path, tensor)) }
                return
            }
            var mirror = Mirror(reflecting: value)
            if let layer = value as? any Layer {   // also unwraps `(any Layer)?`
                guard seen.insert(ObjectIdentifier(layer)).inserted else { return }
                found.layers.append((path, layer))
                mirror = Mirror(reflecting: layer)
            } else if mirror.displayStyle == .class {
                guard seen.insert(ObjectIdentifier(value as AnyObject)).inserted else { return }
            }
            var m: Mirror? = mirror
            while let current = m {
                for (i, child) in current.children.enumerated() {
                    let name = child.label ?? String(i)
                    visit(child.value, path: path.isEmpty ? name : path + "." + name)
                }
                m = current.superclassMirror
            }
        }
        visit(root, path: "")
        return found
    }
}

@Suite("Traversal")
struct TraversalTests {
    struct ModelCase: Sendable, CustomTestStringConvertible {
        let config: ModelConfig
        var testDescription: String {
            "\(config.architecture.rawValue)\(config.lcnn ? " LCNN" : "") \(config.activation.rawValue) \(config.inputShape)"
                + (config.architecture == .mlp || config.architecture == .smallcnn ? (config.batchNorm ? " BN" : " no BN") : "")
        }
    }

    /// Every architecture in both forms. LCNN ResNets/VGG and full-size SmallCNN run 15 power-iteration
    /// steps per convolution at creation, so small inputs are used where the architecture allows.
    static let cases: [ModelCase] = [
        ModelCase(config: ModelConfig(architecture: .mlp, batchNorm: false)),
        ModelCase(config: ModelConfig(architecture: .mlp, batchNorm: true)),
        ModelCase(config: ModelConfig(architecture: .mlp, lcnn: true, batchNorm: false)),
        ModelCase(config: ModelConfig(architecture: .mlp, lcnn: true, batchNorm: true)),
        ModelCase(config: ModelConfig(architecture: .mlp, lcnn: true, activation: .swish)),
        ModelCase(config: ModelConfig(architecture: .smallcnn)),
        ModelCase(config: ModelConfig(architecture: .smallcnn, batchNorm: false)),
        ModelCase(config: ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8])),
        ModelCase(config: ModelConfig(architecture: .resnet18)),
        ModelCase(config: ModelConfig(architecture: .resnet34)),
        ModelCase(config: ModelConfig(architecture: .vgg11)),
    ]

    static let lcnnCIFARCases: [ModelCase] = [
        ModelCase(config: ModelConfig(architecture: .resnet18, lcnn: true, inputShape: [3, 8, 8])),
        ModelCase(config: ModelConfig(architecture: .resnet34, lcnn: true, inputShape: [3, 8, 8])),
        ModelCase(config: ModelConfig(architecture: .vgg11, lcnn: true)),
    ]

    /// Every stored tensor is named exactly once; names are unique; roles and weight-decay flags
    /// are consistent; every stored layer is visited.
    static func expectComplete(_ model: any Layer, sourceLocation: SourceLocation = #_sourceLocation) {
        let found = LayerReflection.walk(model)
        let named = model.namedTensors
        let namedIDs = named.map { ObjectIdentifier($0.tensor) }
        for (path, tensor) in found.tensors where !namedIDs.contains(ObjectIdentifier(tensor)) {
            Issue.record("stored tensor \(path) \(tensor.shape) is not in namedTensors", sourceLocation: sourceLocation)
        }

        #expect(Set(namedIDs).count == named.count, "a tensor is named twice", sourceLocation: sourceLocation)
        #expect(named.count == found.tensors.count, "namedTensors has \(named.count) entries, the layers store \(found.tensors.count) tensors",
                sourceLocation: sourceLocation)
        let names = named.map(\.name)
        #expect(Set(names).count == names.count, "duplicate names", sourceLocation: sourceLocation)
        for entry in named {
            #expect(entry.role == .parameter ? entry.tensor.requiresGrad : !entry.tensor.requiresGrad,
                    "\(entry.name): role \(entry.role) but requiresGrad \(entry.tensor.requiresGrad)", sourceLocation: sourceLocation)
            let scale = entry.name.hasSuffix("log_beta") || entry.name.hasSuffix("log_lipschitz")
            #expect(entry.noWeightDecay == (scale || entry.role == .buffer), "\(entry.name): noWeightDecay", sourceLocation: sourceLocation)
            #expect(!entry.name.isEmpty && !entry.name.hasPrefix(".") && !entry.name.contains(".."), "\(entry.name)", sourceLocation: sourceLocation)
        }
        // Layers: every layer held in a stored property appears in allLayers (by identity).
        let visited = Set(model.allLayers.map { ObjectIdentifier($0.layer) })
        for (path, layer) in found.layers where !visited.contains(ObjectIdentifier(layer)) {
            Issue.record("stored layer \(path) (\(type(of: layer))) is not visited", sourceLocation: sourceLocation)
        }
        #expect(model.allLayers.count == found.layers.count, "allLayers \(model.allLayers.count), stored \(found.layers.count)",
                sourceLocation: sourceLocation)
        #expect(model.parameterCount == named.filter { $0.role == .parameter }.reduce(0) { $0 + $1.tensor.count },
                sourceLocation: sourceLocation)
    }

    @Test("Every stored tensor and layer is reached by visit(_:), with unique names", arguments: cases)
    func completeness(_ c: ModelCase) {
        Self.expectComplete(c.config.makeModel())
    }

    @Test("Completeness of LCNN ResNet-18/34 and VGG-11 (optimised builds only)",
          .enabled(if: NNTestKit.fullSizeModels, "full-size CIFAR models: optimised builds or LCNN_FULL_TESTS=1"), arguments: lcnnCIFARCases)
    func completenessLCNNCIFAR(_ c: ModelCase) {
        Self.expectComplete(c.config.makeModel())
    }

    @Test("The reflection helper finds optional, array-held and nested tensors (so the completeness check has teeth)")
    func reflectionFindsEverything() {
        final class Hidden: Layer {
            let inner = Sequential([BatchNorm(features: 2)])
            let optional: Tensor? = Tensor([1])
            let missing: Tensor? = nil
            let list: [any Layer] = [ReLU(), CenteredSoftplus()]
            let pair: (Tensor, Int) = (Tensor([2]), 3)
            func callAsFunction(_ x: Tensor) -> Tensor { x }
            func visit(_ v: inout TensorVisitor) { v.child("inner", inner) }   // forgets the rest
        }
        let h = Hidden()
        let found = LayerReflection.walk(h)
        // inner BN: 5 tensors; optional: 1; CenteredSoftplus log β: 1; tuple: 1.
        #expect(found.tensors.count == 8)
        #expect(found.tensors.contains { $0.tensor === h.optional! })
        #expect(found.tensors.contains { $0.tensor === h.pair.0 })
        #expect(found.layers.count == 5)   // Hidden, Sequential, BatchNorm, ReLU, CenteredSoftplus
        #expect(h.namedTensors.count == 5)
    }

    // MARK: Exact names

    @Test("PyTorch-style names: MLP and SmallCNN")
    func smallModelNames() {
        let mlp = ModelConfig(architecture: .mlp, batchNorm: false).makeModel()
        #expect(mlp.namedTensors.map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                                                 "layers.4.weight", "layers.4.bias"])
        let lcnnMLP = ModelConfig(architecture: .mlp, lcnn: true, batchNorm: false).makeModel()
        #expect(lcnnMLP.namedTensors.map(\.name) == [
            "layers.0.bias", "layers.0.parametrizations.weight.original", "layers.0.parametrizations.weight.0._u",
            "layers.0.parametrizations.weight.0._v", "layers.1.log_beta",
            "layers.2.bias", "layers.2.parametrizations.weight.original", "layers.2.parametrizations.weight.0._u",
            "layers.2.parametrizations.weight.0._v", "layers.3.log_beta",
            "layers.4.bias", "layers.4.parametrizations.weight.original", "layers.4.parametrizations.weight.0._u",
            "layers.4.parametrizations.weight.0._v"])
        let bnMLP = ModelConfig(architecture: .mlp, batchNorm: true).makeModel()
        #expect(bnMLP.namedTensors.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.1.running_mean",
            "layers.1.running_var", "layers.1.num_batches_tracked", "layers.3.weight", "layers.3.bias",
            "layers.4.weight", "layers.4.bias", "layers.4.running_mean", "layers.4.running_var",
            "layers.4.num_batches_tracked", "layers.6.weight", "layers.6.bias"])
        let cnn = ModelConfig(architecture: .smallcnn).makeModel()
        #expect(cnn.namedTensors.map(\.name) == [
            "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
            "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        let lcnnCNN = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel()
        let names = Set(lcnnCNN.namedTensors.map(\.name))
        for name in ["conv1.parametrizations.weight.original", "conv1.parametrizations.weight.0._u", "conv1.bias",
                     "bn1.log_lipschitz", "bn1.running_var", "act1.log_beta", "act2.log_beta", "act3.log_beta",
                     "bn2.log_lipschitz", "fc1.parametrizations.weight.0._v", "fc2.parametrizations.weight.original"] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(!names.contains("bn1.weight") && !names.contains("conv1.weight"))
    }

    @Test("PyTorch-style names: ResNet-18 and VGG-11")
    func cifarNames() {
        let resnet = ModelConfig(architecture: .resnet18).makeModel()
        let named = resnet.namedTensors
        let names = named.map(\.name)
        for name in ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                     "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.1.conv2.weight", "layer1.1.bn2.running_var",
                     "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.weight", "layer2.0.shortcut.1.running_var",
                     "layer4.1.bn2.bias", "linear.weight", "linear.bias"] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(!names.contains("conv1.bias") && !names.contains("layer1.0.shortcut.0.weight"))
        #expect(names.first == "conv1.weight" && names.suffix(2) == ["linear.weight", "linear.bias"])
        #expect(named.first { $0.name == "layer2.0.shortcut.0.weight" }?.tensor.shape == [128, 64, 1, 1])
        #expect(names.filter { $0.hasSuffix(".weight") && $0.contains("conv") }.count == 17)

        let vgg = ModelConfig(architecture: .vgg11).makeModel()
        let vggNames = vgg.namedTensors.map(\.name)
        for name in ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.running_mean",
                     "features.4.weight", "features.26.running_var", "classifier.weight", "classifier.bias"] {
            #expect(vggNames.contains(name), "missing \(name)")
        }
        #expect(vgg.allLayers.map(\.path).contains("features.3"))   // the first pool (average by default)
        #expect(vgg.allLayers.first { $0.path == "features.3" }?.layer is AvgPool2d)
        let maxVGG = ModelConfig(architecture: .vgg11, pooling: .max).makeModel()
        #expect(maxVGG.allLayers.first { $0.path == "features.3" }?.layer is MaxPool2d)
    }

    @Test("LCNN residual blocks: complete traversal and PyTorch-style names, shortcut included")
    func lcnnBlockNames() {
        var factory = LayerFactory(config: ModelConfig(architecture: .resnet18, lcnn: true, inputShape: [2, 4, 4]))
        let block = BasicBlock(2, 3, stride: 2, inputSize: (4, 4), factory: &factory)
        Self.expectComplete(block)
        #expect(block.namedTensors.map(\.name) == [
            "conv1.parametrizations.weight.original", "conv1.parametrizations.weight.0._u", "conv1.parametrizations.weight.0._v",
            "bn1.log_lipschitz", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "act1.log_beta",
            "conv2.parametrizations.weight.original", "conv2.parametrizations.weight.0._u", "conv2.parametrizations.weight.0._v",
            "bn2.log_lipschitz", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
            "shortcut.0.parametrizations.weight.original", "shortcut.0.parametrizations.weight.0._u",
            "shortcut.0.parametrizations.weight.0._v", "shortcut.1.log_lipschitz", "shortcut.1.running_mean",
            "shortcut.1.running_var", "shortcut.1.num_batches_tracked", "act2.log_beta"])
        var standardFactory = LayerFactory(config: ModelConfig(architecture: .resnet18, inputShape: [2, 4, 4]))
        let identity = BasicBlock(2, 2, stride: 1, inputSize: (4, 4), factory: &standardFactory)
        Self.expectComplete(identity)
        #expect(!identity.namedTensors.contains { $0.name.hasPrefix("shortcut") })
    }

    @Test("allLayers and sublayers(of:) follow traversal order")
    func layerQueries() {
        let model = ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8]).makeModel()
        #expect(model.allLayers.map(\.path) == ["", "conv1", "bn1", "act1", "conv2", "bn2", "act2", "pool", "dropout1",
                                                "fc1", "act3", "dropout2", "fc2"])
        #expect(model.allLayers[0].layer === model)
        let convs = model.sublayers(of: Conv2d.self)
        #expect(convs.count == 2 && convs[0].outChannels == 32 && convs[1].outChannels == 64)
        #expect(model.sublayers(of: SmallCNN.self).count == 1)
    }
}
