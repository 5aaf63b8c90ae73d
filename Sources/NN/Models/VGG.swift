import TensorCore

/// VGG for 32×32 inputs (CIFAR form): 3×3 convolutions (padding 1) each followed by batch
/// norm and the activation, 2×2 pools (average by default, max with `pooling: .max`; see
/// ``ModelConfig/pooling``), and a linear head on the 512 final features.
/// Names follow the common CIFAR VGG: `features.N…` and `classifier`.
public final class VGG: Layer {
    /// Channel widths, with 0 for a pool (M). VGG-11: 64 M 128 M 256 256 M 512 512 M 512 512 M.
    public static let vgg11 = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0]

    public let features: Sequential
    public let classifier: any Layer

    public init(layout: [Int], config: ModelConfig, factory: inout LayerFactory) {
        guard config.inputShape.count == 3 else { fatalError("VGG: input shape must be [C, H, W], got \(config.inputShape)") }
        var channels = config.inputShape[0]
        var size = (config.inputShape[1], config.inputShape[2])
        var list: [any Layer] = []
        for width in layout {
            if width == 0 {
                list.append(factory.pool(kernelSize: 2))
                size = (size.0 / 2, size.1 / 2)
            } else {
                list.append(factory.conv(channels, width, kernelSize: 3, padding: 1, inputSize: size))
                list.append(factory.batchNorm(width))
                list.append(factory.activation())
                channels = width
            }
        }
        features = Sequential(list)
        classifier = factory.linear(channels * size.0 * size.1, config.classes)
    }

    /// The spectrally normalised convolutions (LCNN form), whose power-iteration steps a training
    /// forward runs ahead, two layers at a time (``PowerIterationsAhead``).
    private lazy var spectralConvolutions = sublayers(of: SpectralNormConv2d.self)

    public func callAsFunction(_ x: Tensor) -> Tensor {
        PowerIterationsAhead.run(spectralConvolutions) { classifier(features(x).flattened()) }
    }

    public func visit(_ v: inout TensorVisitor) {
        v.child("features", features)
        v.child("classifier", classifier)
    }
}
