import TensorCore

/// The activation functions a model can be built with (`--activation`).
public enum ActivationKind: String, Sendable, CaseIterable, Codable {
    /// Softplus with a fixed β (B1): β = 1000 for Standard, 10 for softplus + weight decay.
    case softplus
    /// Centered softplus with a learnable β (B2), the LCNN activation.
    case centeredSoftplus = "centered-softplus"
    /// Parametric swish with a learnable β (B3).
    case swish
    /// ReLU.
    case relu
}

/// The down-sampling layer of the architectures that pool (SmallCNN, VGG-11).
///
/// `.average` is linear, with Lipschitz constant ≤ ⌈k/s⌉/k and no curvature, so a network that
/// uses it keeps the finite data-free bound of paper Theorem 1 (eq. 6). `.max` is 1-Lipschitz (for
/// non-overlapping windows) but not twice differentiable where two inputs of a window tie, so its
/// curvature — and the bound — is unbounded there; on images with exactly-zero backgrounds (MNIST,
/// Fashion-MNIST) such ties are common and noise re-routes the gradient (paper Figure 2 fails).
public enum PoolingKind: String, Codable, Sendable, CaseIterable {
    case max
    case average
}

/// The network architectures (`--model`).
public enum Architecture: String, Sendable, CaseIterable, Codable {
    case mlp, smallcnn, resnet18, resnet34, vgg11
}

/// Everything needed to build a model, in Standard or LCNN form.
///
/// The LCNN form (`lcnn: true`) swaps in spectrally normalised linear and convolution layers
/// and γ-Lipschitz batch norm, and halves residual sums; the activation is chosen separately
/// (centered softplus by default for LCNN). One builder serves both forms.
public struct ModelConfig: Sendable, Codable, Equatable {
    public var architecture: Architecture
    /// Spectral normalisation + γ-Lipschitz batch norm (B4–B6).
    public var lcnn: Bool
    public var activation: ActivationKind
    /// β of a fixed softplus (B1).
    public var softplusBeta: Float
    /// Initial β of learnable-β activations (B2, B3).
    public var initialBeta: Float
    /// Initial γ of γ-Lipschitz batch norm (B6).
    public var initialGamma: Float
    /// Input shape of one sample: `[features]` for the MLP, `[C, H, W]` for images.
    public var inputShape: [Int]
    public var classes: Int
    /// Hidden widths of the MLP.
    public var hiddenWidths: [Int]
    /// Whether the MLP has batch norm after its hidden layers, and the SmallCNN after its
    /// convolutions (the SmallCNN always does in LCNN form). Defaults: the SmallCNN has it; the
    /// MLP has it in LCNN form only (γ-Lipschitz BN gives the 1-Lipschitz MLP its scale).
    public var batchNorm: Bool
    /// Seed of the weight initialisation and of the dropout masks.
    public var seed: UInt64
    /// Pooling of the SmallCNN and VGG (`--pooling`); ignored by the MLP and the ResNets. New
    /// configurations use `.average` in both forms, so Standard and LCNN differ only in the LCNN
    /// ingredients and both have a finite curvature bound. Configurations stored without this key
    /// (checkpoints written before it existed) decode as `.max`, what those models were trained with.
    public var pooling: PoolingKind

    public init(architecture: Architecture, lcnn: Bool = false, activation: ActivationKind? = nil,
                softplusBeta: Float = 1000, initialBeta: Float = 5, initialGamma: Float = 10,
                inputShape: [Int]? = nil, classes: Int = 10, hiddenWidths: [Int] = [64, 64],
                batchNorm: Bool? = nil, seed: UInt64 = 0, pooling: PoolingKind = .average) {
        self.architecture = architecture
        self.lcnn = lcnn
        self.activation = activation ?? (lcnn ? .centeredSoftplus : .softplus)
        self.softplusBeta = softplusBeta
        self.initialBeta = initialBeta
        self.initialGamma = initialGamma
        self.inputShape = inputShape ?? Self.defaultInputShape(architecture)
        self.classes = classes
        self.hiddenWidths = hiddenWidths
        self.batchNorm = batchNorm ?? (architecture == .mlp ? lcnn : true)
        self.seed = seed
        self.pooling = pooling
    }

    /// Decodes every key as the synthesized conformance did; a missing `pooling` key means `.max`
    /// (the pooling of every model trained before the key existed). `encode(to:)` stays synthesized
    /// and always writes `pooling`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(Architecture.self, forKey: .architecture)
        lcnn = try c.decode(Bool.self, forKey: .lcnn)
        activation = try c.decode(ActivationKind.self, forKey: .activation)
        softplusBeta = try c.decode(Float.self, forKey: .softplusBeta)
        initialBeta = try c.decode(Float.self, forKey: .initialBeta)
        initialGamma = try c.decode(Float.self, forKey: .initialGamma)
        inputShape = try c.decode([Int].self, forKey: .inputShape)
        classes = try c.decode(Int.self, forKey: .classes)
        hiddenWidths = try c.decode([Int].self, forKey: .hiddenWidths)
        batchNorm = try c.decode(Bool.self, forKey: .batchNorm)
        seed = try c.decode(UInt64.self, forKey: .seed)
        pooling = try c.decodeIfPresent(PoolingKind.self, forKey: .pooling) ?? .max
    }

    /// Two-moons points for the MLP, 1×28×28 for SmallCNN, 3×32×32 for the CIFAR models.
    public static func defaultInputShape(_ a: Architecture) -> [Int] {
        switch a {
        case .mlp: return [2]
        case .smallcnn: return [1, 28, 28]
        case .resnet18, .resnet34, .vgg11: return [3, 32, 32]
        }
    }

    /// Builds the model this configuration describes.
    public func makeModel() -> any Layer {
        var factory = LayerFactory(config: self)
        switch architecture {
        case .mlp: return MLP(config: self, factory: &factory)
        case .smallcnn: return SmallCNN(config: self, factory: &factory)
        case .resnet18: return ResNet(blocks: [2, 2, 2, 2], config: self, factory: &factory)
        case .resnet34: return ResNet(blocks: [3, 4, 6, 3], config: self, factory: &factory)
        case .vgg11: return VGG(layout: VGG.vgg11, config: self, factory: &factory)
        }
    }
}

/// Makes the layers of a model in the form its configuration asks for.
public struct LayerFactory {
    public let config: ModelConfig
    public var generator: SeededGenerator
    private var dropoutCount: UInt64 = 0

    public init(config: ModelConfig) {
        self.config = config
        generator = SeededGenerator(seed: config.seed)
    }

    /// A fully connected layer (spectrally normalised in LCNN form).
    public mutating func linear(_ input: Int, _ output: Int, bias: Bool = true) -> any Layer {
        config.lcnn
            ? SpectralNormLinear(inFeatures: input, outFeatures: output, bias: bias, generator: &generator)
            : Linear(inFeatures: input, outFeatures: output, bias: bias, generator: &generator)
    }

    /// A convolution (with "real" spectral normalisation at `inputSize` in LCNN form).
    public mutating func conv(_ input: Int, _ output: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                              bias: Bool = true, inputSize: (Int, Int)) -> any Layer {
        config.lcnn
            ? SpectralNormConv2d(inChannels: input, outChannels: output, kernelSize: kernelSize, stride: stride,
                                 padding: padding, bias: bias, inputSize: inputSize, generator: &generator)
            : Conv2d(inChannels: input, outChannels: output, kernelSize: kernelSize, stride: stride,
                     padding: padding, bias: bias, generator: &generator)
    }

    /// Batch norm (γ-Lipschitz in LCNN form).
    public func batchNorm(_ features: Int) -> any Layer {
        config.lcnn ? LipschitzBatchNorm(features: features, initialGamma: config.initialGamma)
                    : BatchNorm(features: features)
    }

    /// One activation layer of the configured kind (each with its own β when learnable).
    public func activation() -> any Layer {
        switch config.activation {
        case .softplus: return Softplus(beta: config.softplusBeta)
        case .centeredSoftplus: return CenteredSoftplus(initialBeta: config.initialBeta)
        case .swish: return ParametricSwish(initialBeta: config.initialBeta)
        case .relu: return ReLU()
        }
    }

    /// The configured 2-D pooling (``ModelConfig/pooling``) with a square `kernelSize` window and
    /// stride equal to the window.
    public func pool(kernelSize: Int) -> any Layer {
        switch config.pooling {
        case .max: return MaxPool2d(kernelSize: kernelSize)
        case .average: return AvgPool2d(kernelSize: kernelSize)
        }
    }

    /// Dropout whose mask stream is derived from the model seed and the layer's position.
    public mutating func dropout(_ p: Float) -> any Layer {
        dropoutCount += 1
        return Dropout(probability: p, seed: config.seed &* 1_000_003 &+ dropoutCount)
    }
}

/// Output extent of a convolution or pooling along one axis.
@inline(__always) func convOutput(_ size: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}
