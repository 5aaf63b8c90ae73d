import Testing
import NN
import TensorCore
import TensorKernels
import _TestSupport

/// Models train the same with the batch-norm + softplus fusion on and off
/// (`KernelSettings.fuseBatchNormSoftplus`): the same loss, parameter gradients (first order, and
/// through an input-gradient penalty, second order), buffers and activation widths. The small
/// test models fuse on maps from 16 pixels (`fuseBatchNormSoftplusMinPixels`), as large ones do
/// from 64.
@Suite("Batch norm + activation fusion in models")
struct BatchNormActivationFusionTests {
    struct ModelCase: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let inputShape: [Int]
        /// Whether the model has a batch norm directly followed by a softplus on rows of ≥ 16 values.
        let fuses: Bool
        let make: @Sendable () -> any Layer
    }

    static func resNet(lcnn: Bool) -> any Layer {
        let config = ModelConfig(architecture: .resnet18, lcnn: lcnn, inputShape: [3, 8, 8], classes: 3)
        var factory = LayerFactory(config: config)
        return ResNet(blocks: [1, 1], config: config, factory: &factory)   // 8×8 and 4×4 stages
    }

    static func vgg(lcnn: Bool) -> any Layer {
        let config = ModelConfig(architecture: .vgg11, lcnn: lcnn, inputShape: [3, 16, 16], classes: 3)
        var factory = LayerFactory(config: config)
        return VGG(layout: [4, 0, 8, 0], config: config, factory: &factory)
    }

    static let cases: [ModelCase] = [
        ModelCase(testDescription: "SmallCNN Standard", inputShape: [1, 8, 8], fuses: true) {
            ModelConfig(architecture: .smallcnn, inputShape: [1, 8, 8], classes: 3).makeModel()
        },
        ModelCase(testDescription: "SmallCNN LCNN", inputShape: [1, 8, 8], fuses: true) {
            ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8], classes: 3).makeModel()
        },
        ModelCase(testDescription: "ResNet Standard", inputShape: [3, 8, 8], fuses: true) { resNet(lcnn: false) },
        ModelCase(testDescription: "ResNet LCNN", inputShape: [3, 8, 8], fuses: true) { resNet(lcnn: true) },
        ModelCase(testDescription: "VGG LCNN", inputShape: [3, 16, 16], fuses: true) { vgg(lcnn: true) },
        ModelCase(testDescription: "MLP LCNN ([N, C]: not fused)", inputShape: [2], fuses: false) {
            ModelConfig(architecture: .mlp, lcnn: true, classes: 3).makeModel()
        },
    ]

    /// One training step's loss (cross-entropy, plus `penalty`·‖∇ₓ CE‖² by double backprop when
    /// `penalty` > 0) and its parameter gradients, on a fresh model.
    struct Step {
        let model: any Layer
        let loss: Tensor
        let gradients: [Tensor]
        let ops: Set<Op>

        init(_ c: ModelCase, fused: Bool, penalty: Float = 0) {
            self.init(c, settings: { $0.fuseBatchNormSoftplus = fused; $0.fuseBatchNormSoftplusMinPixels = 16 },
                      penalty: penalty)
        }

        /// The step with the kernel settings `settings` makes.
        init(_ c: ModelCase, settings: (inout KernelSettings) -> Void, penalty: Float = 0) {
            let model = c.make()
            let x = Fixtures.normal([4] + c.inputShape, seed: 3).requiringGrad()
            let labels = [0, 1, 2, 1]
            let (loss, ops): (Tensor, Set<Op>) = KernelSettings.with(settings) {
                training {
                    let logits = model(x)
                    let ce = crossEntropy(logits: logits, labels: labels)
                    let ops = recordedOps(ce)
                    guard penalty > 0 else { return (ce, ops) }
                    let gx = TensorCore.gradients(of: ce, wrt: [x], createGraph: true)[0]
                    return (ce + square(gx).sum() * penalty, ops)
                }
            }
            self.model = model
            self.loss = loss
            self.ops = ops
            gradients = KernelSettings.with(settings) { TensorCore.gradients(of: loss, wrt: model.parameters) }
        }
    }

    /// max |a − b| ≤ 1e-5 · max |b| + 1e-7 over the tensor. The absolute 1e-7 is for gradients that
    /// are zero but for rounding: a convolution's bias just before batch norm (|∂| ~ 4e-8 here).
    static func expectClose(_ a: Tensor, _ b: Tensor, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let scale = b.scalars.map(Swift.abs).max() ?? 0
        let error = zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
        #expect(a.shape == b.shape && error <= 1e-5 * scale + 1e-7, "\(label): max |fused − unfused| = \(error), scale \(scale)",
                sourceLocation: sourceLocation)
    }

    static func activationWidths(_ model: any Layer) -> [Int] {
        model.sublayers(of: Softplus.self).map(\.lastWidth) + model.sublayers(of: CenteredSoftplus.self).map(\.lastWidth)
    }

    @Test("a training step gives the same loss, parameter gradients, buffers and widths fused and unfused",
          arguments: cases)
    func firstOrder(_ c: ModelCase) {
        let fused = Step(c, fused: true), unfused = Step(c, fused: false)
        #expect(fused.ops.contains(.batchNormSoftplus) == c.fuses, "fused op recorded: \(fused.ops.contains(.batchNormSoftplus))")
        #expect(!unfused.ops.contains(.batchNormSoftplus))
        #expect(fused.loss.item == unfused.loss.item, "loss \(fused.loss.item) vs \(unfused.loss.item)")
        let names = fused.model.namedParameters.map(\.name)
        #expect(fused.gradients.count == names.count && unfused.gradients.count == names.count)
        for (name, (a, b)) in zip(names, zip(fused.gradients, unfused.gradients)) { Self.expectClose(a, b, name) }
        for (a, b) in zip(fused.model.namedBuffers, unfused.model.namedBuffers) {
            #expect(a.name == b.name && a.tensor.scalars == b.tensor.scalars, "buffer \(a.name)")
        }
        #expect(Self.activationWidths(fused.model) == Self.activationWidths(unfused.model))
        #expect(Self.activationWidths(fused.model).allSatisfy { $0 > 0 })
    }

    @Test("an input-gradient penalty (double backprop, as GradReg) gives the same parameter gradients fused and unfused",
          arguments: [cases[1], cases[2], cases[3]])
    func secondOrder(_ c: ModelCase) {
        let fused = Step(c, fused: true, penalty: 0.5), unfused = Step(c, fused: false, penalty: 0.5)
        #expect(fused.ops.contains(.batchNormSoftplus))
        Self.expectClose(fused.loss, unfused.loss, "loss")
        for (name, (a, b)) in zip(fused.model.namedParameters.map(\.name), zip(fused.gradients, unfused.gradients)) {
            Self.expectClose(a, b, name)
        }
    }
}
