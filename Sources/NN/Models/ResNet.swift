import TensorCore

/// The basic residual block of ResNet-18/34: conv3×3–BN–act–conv3×3–BN plus a shortcut
/// (1×1 conv + BN when the shape changes), then act.
///
/// In LCNN form the sum is halved, `act(½·(F(x) + S(x)))`, so two 1-Lipschitz branches give a
/// 1-Lipschitz block (SPEC §3; the authors' code does the same with its halves trick).
/// Names follow the common CIFAR ResNet (`conv1`, `bn1`, `conv2`, `bn2`, `shortcut.0`, `shortcut.1`).
public final class BasicBlock: Layer {
    public let conv1: any Layer, bn1: any Layer, act1: any Layer
    public let conv2: any Layer, bn2: any Layer, act2: any Layer
    public let shortcut: Sequential?
    public let halveSum: Bool

    public init(_ input: Int, _ output: Int, stride: Int, inputSize: (Int, Int), factory: inout LayerFactory) {
        conv1 = factory.conv(input, output, kernelSize: 3, stride: stride, padding: 1, bias: false, inputSize: inputSize)
        let size = (convOutput(inputSize.0, kernel: 3, stride: stride, padding: 1),
                    convOutput(inputSize.1, kernel: 3, stride: stride, padding: 1))
        bn1 = factory.batchNorm(output)
        act1 = factory.activation()
        conv2 = factory.conv(output, output, kernelSize: 3, padding: 1, bias: false, inputSize: size)
        bn2 = factory.batchNorm(output)
        if stride != 1 || input != output {
            shortcut = Sequential([factory.conv(input, output, kernelSize: 1, stride: stride, bias: false, inputSize: inputSize),
                                   factory.batchNorm(output)])
        } else {
            shortcut = nil
        }
        act2 = factory.activation()
        halveSum = factory.config.lcnn
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let main = bn2(conv2(batchNormThenActivation(bn1, act1, conv1(x))))
        let side = shortcut.map { $0(x) } ?? x
        return sumThenActivation(act2, main, side, scale: halveSum ? 0.5 : 1)
    }

    public func visit(_ v: inout TensorVisitor) {
        v.child("conv1", conv1); v.child("bn1", bn1); v.child("act1", act1)
        v.child("conv2", conv2); v.child("bn2", bn2)
        if let shortcut { v.child("shortcut", shortcut) }
        v.child("act2", act2)
    }
}

/// ResNet for 32×32 inputs (CIFAR form): 3×3 stem conv, no max-pool, four stages of basic
/// blocks with widths 64/128/256/512 (strides 1/2/2/2), global average pool, linear head.
/// `blocks` is `[2,2,2,2]` for ResNet-18 and `[3,4,6,3]` for ResNet-34.
public final class ResNet: Layer {
    public let conv1: any Layer, bn1: any Layer, act1: any Layer
    public let stages: [Sequential]
    public let pool = AdaptiveAvgPool2d()
    public let linear: any Layer

    public init(blocks: [Int], config: ModelConfig, factory: inout LayerFactory) {
        guard config.inputShape.count == 3 else { fatalError("ResNet: input shape must be [C, H, W], got \(config.inputShape)") }
        var size = (config.inputShape[1], config.inputShape[2])
        conv1 = factory.conv(config.inputShape[0], 64, kernelSize: 3, padding: 1, bias: false, inputSize: size)
        bn1 = factory.batchNorm(64)
        act1 = factory.activation()
        var channels = 64
        var stageList: [Sequential] = []
        for (i, count) in blocks.enumerated() {
            let width = 64 << i
            var stage: [any Layer] = []
            for b in 0..<count {
                let stride = (b == 0 && i > 0) ? 2 : 1
                stage.append(BasicBlock(channels, width, stride: stride, inputSize: size, factory: &factory))
                size = (convOutput(size.0, kernel: 3, stride: stride, padding: 1), convOutput(size.1, kernel: 3, stride: stride, padding: 1))
                channels = width
            }
            stageList.append(Sequential(stage))
        }
        stages = stageList
        linear = factory.linear(channels, config.classes)
    }

    /// The spectrally normalised convolutions (LCNN form), whose power-iteration steps a training
    /// forward runs ahead, two layers at a time (``PowerIterationsAhead``).
    private lazy var spectralConvolutions = sublayers(of: SpectralNormConv2d.self)

    public func callAsFunction(_ x: Tensor) -> Tensor {
        PowerIterationsAhead.run(spectralConvolutions) {
            var y = batchNormThenActivation(bn1, act1, conv1(x))
            for stage in stages { y = stage(y) }
            return linear(pool(y).flattened())
        }
    }

    public func visit(_ v: inout TensorVisitor) {
        v.child("conv1", conv1); v.child("bn1", bn1); v.child("act1", act1)
        for (i, stage) in stages.enumerated() { v.child("layer\(i + 1)", stage) }
        v.child("pool", pool)
        v.child("linear", linear)
    }
}
