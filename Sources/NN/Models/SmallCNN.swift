import TensorCore

/// The small convolutional network of `000_4a4331a2d5960031.txt` (SPEC §3):
/// conv 1→32 3×3, [BN], act, conv 32→64 3×3, [BN], act, pool 2, dropout 0.25,
/// flatten (9216 for 28×28), linear →128, act, dropout 0.5, linear 128→classes.
/// Children are named `conv1`, `bn1`, `act1`, `conv2`, `bn2`, `act2`, `pool`, `fc1`, `act3`, `fc2`.
///
/// The pool is ``AvgPool2d`` or ``MaxPool2d`` by ``ModelConfig/pooling`` (average by default,
/// in both forms; the reference net's max-pool is `.max`). Neither has parameters, so
/// checkpoints do not depend on the choice.
public final class SmallCNN: Layer {
    public let conv1: any Layer, bn1: (any Layer)?, act1: any Layer
    public let conv2: any Layer, bn2: (any Layer)?, act2: any Layer
    /// 2×2 pooling, stride 2: ``AvgPool2d`` or ``MaxPool2d`` (``ModelConfig/pooling``).
    public let pool: any Layer
    public let dropout1: any Layer, fc1: any Layer, act3: any Layer, dropout2: any Layer, fc2: any Layer

    public init(config: ModelConfig, factory: inout LayerFactory) {
        guard config.inputShape.count == 3 else { fatalError("SmallCNN: input shape must be [C, H, W], got \(config.inputShape)") }
        let (c, h, w) = (config.inputShape[0], config.inputShape[1], config.inputShape[2])
        let useBN = config.batchNorm || config.lcnn
        conv1 = factory.conv(c, 32, kernelSize: 3, inputSize: (h, w))
        let (h1, w1) = (convOutput(h, kernel: 3), convOutput(w, kernel: 3))
        bn1 = useBN ? factory.batchNorm(32) : nil
        act1 = factory.activation()
        conv2 = factory.conv(32, 64, kernelSize: 3, inputSize: (h1, w1))
        let (h2, w2) = (convOutput(h1, kernel: 3), convOutput(w1, kernel: 3))
        bn2 = useBN ? factory.batchNorm(64) : nil
        act2 = factory.activation()
        pool = factory.pool(kernelSize: 2)
        dropout1 = factory.dropout(0.25)
        fc1 = factory.linear(64 * (h2 / 2) * (w2 / 2), 128)
        act3 = factory.activation()
        dropout2 = factory.dropout(0.5)
        fc2 = factory.linear(128, config.classes)
    }

    /// The spectrally normalised convolutions (LCNN form), whose power-iteration steps a training
    /// forward runs ahead, two layers at a time (``PowerIterationsAhead``).
    private lazy var spectralConvolutions = sublayers(of: SpectralNormConv2d.self)

    public func callAsFunction(_ x: Tensor) -> Tensor {
        PowerIterationsAhead.run(spectralConvolutions) {
            var y = conv1(x)
            y = bn1.map { batchNormThenActivation($0, act1, y) } ?? act1(y)
            y = conv2(y)
            y = bn2.map { batchNormThenActivation($0, act2, y) } ?? act2(y)
            y = dropout1(pool(y)).flattened()
            y = dropout2(act3(fc1(y)))
            return fc2(y)
        }
    }

    public func visit(_ v: inout TensorVisitor) {
        v.child("conv1", conv1)
        if let bn1 { v.child("bn1", bn1) }
        v.child("act1", act1)
        v.child("conv2", conv2)
        if let bn2 { v.child("bn2", bn2) }
        v.child("act2", act2)
        v.child("pool", pool)
        v.child("dropout1", dropout1)
        v.child("fc1", fc1)
        v.child("act3", act3)
        v.child("dropout2", dropout2)
        v.child("fc2", fc2)
    }
}
