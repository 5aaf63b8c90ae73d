import Testing
import NN
import TensorCore
import TensorKernels
import _TestSupport

/// The ResNets train the same with the residual sum + softplus fusion on and off
/// (`KernelSettings.fuseSumSoftplus`, ``sumThenActivation(_:_:_:scale:)``): the same loss and
/// parameter gradients, first order and through an input-gradient penalty (second order), the
/// same buffers and activation widths; the fused op is recorded exactly when the fusion is on.
@Suite("Residual sum + activation fusion in models")
struct SumActivationFusionTests {
    typealias Step = BatchNormActivationFusionTests.Step

    static let cases = [BatchNormActivationFusionTests.cases[2], BatchNormActivationFusionTests.cases[3]]

    static func settings(fused: Bool) -> (inout KernelSettings) -> Void { { $0.fuseSumSoftplus = fused } }

    @Test("a training step gives the same loss, gradients, buffers and widths fused and unfused", arguments: cases)
    func firstOrder(_ c: BatchNormActivationFusionTests.ModelCase) {
        let fused = Step(c, settings: Self.settings(fused: true)), unfused = Step(c, settings: Self.settings(fused: false))
        #expect(fused.ops.contains(.scaledSumSoftplus) && !unfused.ops.contains(.scaledSumSoftplus))
        #expect(fused.loss.item == unfused.loss.item, "loss \(fused.loss.item) vs \(unfused.loss.item)")
        for (name, (a, b)) in zip(fused.model.namedParameters.map(\.name), zip(fused.gradients, unfused.gradients)) {
            BatchNormActivationFusionTests.expectClose(a, b, name)
        }
        for (a, b) in zip(fused.model.namedBuffers, unfused.model.namedBuffers) {
            #expect(a.name == b.name && a.tensor.scalars == b.tensor.scalars, "buffer \(a.name)")
        }
        #expect(BatchNormActivationFusionTests.activationWidths(fused.model)
                == BatchNormActivationFusionTests.activationWidths(unfused.model))
    }

    @Test("an input-gradient penalty gives the same parameter gradients fused and unfused", arguments: cases)
    func secondOrder(_ c: BatchNormActivationFusionTests.ModelCase) {
        let fused = Step(c, settings: Self.settings(fused: true), penalty: 0.5)
        let unfused = Step(c, settings: Self.settings(fused: false), penalty: 0.5)
        BatchNormActivationFusionTests.expectClose(fused.loss, unfused.loss, "loss")
        for (name, (a, b)) in zip(fused.model.namedParameters.map(\.name), zip(fused.gradients, unfused.gradients)) {
            BatchNormActivationFusionTests.expectClose(a, b, name)
        }
    }
}
