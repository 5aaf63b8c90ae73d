import TensorCore

/// Multilayer perceptron for low-dimensional data such as two moons:
/// `Linear(d→h₁), [BN], act, Linear(h₁→h₂), [BN], act, …, Linear(hₖ→classes)`, with batch norm
/// when `config.batchNorm` (γ-Lipschitz in LCNN form: without it a spectrally normalised MLP is
/// 1-Lipschitz end to end and cannot scale its logits enough to fit, paper §3.4.2).
/// State-dict names follow `nn.Sequential`: `layers.0.weight`, `layers.1.running_mean`, ….
public final class MLP: Layer {
    public let layers: Sequential

    public init(config: ModelConfig, factory: inout LayerFactory) {
        guard config.inputShape.count == 1 else {
            fatalError("MLP: input shape must be [features], got \(config.inputShape)")
        }
        var list: [any Layer] = []
        var width = config.inputShape[0]
        for h in config.hiddenWidths {
            list.append(factory.linear(width, h))
            if config.batchNorm { list.append(factory.batchNorm(h)) }
            list.append(factory.activation())
            width = h
        }
        list.append(factory.linear(width, config.classes))
        layers = Sequential(list)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layers(x.flattened()) }
    public func visit(_ v: inout TensorVisitor) { v.child("layers", layers) }
}
