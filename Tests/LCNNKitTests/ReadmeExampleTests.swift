import Datasets
import Foundation
import LCNNKit
import NN
import Testing
import TensorCore

/// The README's library examples, verbatim apart from assertions and a temporary path, so that
/// the front page cannot drift from the API.
@Suite("README examples")
struct ReadmeExampleTests {
    @Test("tensors and autodiff")
    func tensorsAndAutodiff() {
        var rng = SeededGenerator(seed: 0)
        let x = Tensor.normal([4, 3], generator: &rng).requiringGrad()
        let w = Tensor.normal([3, 2], generator: &rng).requiringGrad()

        let loss = crossEntropy(logits: softplus(matmul(x, w), beta: 5), labels: [0, 1, 1, 0])
        let grads = gradients(of: loss, wrt: [x, w])        // [∂loss/∂x, ∂loss/∂w]

        let g = gradients(of: loss, wrt: [x], createGraph: true)[0]
        let gradNormPenalty = g.squaredNorm()
        let hv = hvp(of: loss, wrt: x, along: Tensor.ones([4, 3]))

        #expect(grads[0].shape == [4, 3] && grads[1].shape == [3, 2])
        #expect(gradNormPenalty.requiresGrad && gradients(of: gradNormPenalty, wrt: [w])[0].isFinite)
        #expect(hv.shape == [4, 3] && hv.isFinite)
    }

    @Test("layers, LCNN blocks and models")
    func layersAndModels() throws {
        let config = ModelConfig(architecture: .smallcnn, lcnn: true)
        let model = config.makeModel()
        let optimizer = SGD(parameters: model.namedParameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)

        var rng = SeededGenerator(seed: 1)
        let images = Tensor.uniform([8, 1, 28, 28], generator: &rng)
        let labels = [0, 1, 2, 3, 4, 5, 6, 7]
        training {
            let loss = crossEntropy(logits: model(images), labels: labels) + LCNNPenalty.paper(model)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        let bound = CurvatureBound.compute(for: model, inputShape: config.inputShape)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.saveCheckpoint(to: url)

        #expect(bound.value.isFinite && bound.value > 0)
        let copy = config.makeModel()
        try copy.loadCheckpoint(from: url)
        #expect(copy.predict(images).scalars == model.predict(images).scalars)
    }

    @Test("train an LCNN and measure it")
    func trainAndMeasure() throws {
        var config = TrainConfig()
        config.dataset = .moons
        config.method = .lcnn                      // centered softplus, spectral norm, γ-BN, penalty
        config.architecture = .mlp
        config.epochs = 30
        let (train, test) = try config.dataset.load(directory: nil, seed: config.seed)
        let trainer = try Trainer(config: config, train: train, test: test, outputDirectory: nil)
        try trainer.run()

        let curvature = CurvatureSummary.evaluate(model: trainer.model, dataset: test.prefix(200))
        print(curvature.gradientNorm.mean, curvature.spectralNorm.mean, curvature.curvature.mean)   // G1, G2, G3
        let pgd = robustAccuracy(model: trainer.model, dataset: test.prefix(200), attack: .pgdL2, epsilons: [0.1])
        print(pgd.points[0].robustAccuracy)

        #expect(trainer.history.last!.testAccuracy > 0.8)
        #expect(curvature.count == 200 && curvature.curvature.mean.isFinite && curvature.spectralNorm.mean > 0)
        #expect(pgd.points[0].robustAccuracy <= pgd.cleanAccuracy)
    }
}
