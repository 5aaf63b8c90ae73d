import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// SPEC T2/T3 and G1–G3: on two moons with the same seed, GradReg lowers the input-gradient
/// norm and LCNN lowers β, γ and the normalised curvature, compared with Standard.
@Suite("Method effects")
struct MethodEffectTests {
    // Overlapping moons (noise 0.2): Standard fits them with a sharp, confident boundary.
    static let train = TwoMoons.make(count: 300, noise: 0.2, seed: 1)
    static let test = TwoMoons.make(count: 100, noise: 0.2, seed: 2)

    static func run(_ method: TrainingMethod, configure: (inout TrainConfig) -> Void = { _ in }) throws -> Trainer {
        var c = TrainFixtures.moonsConfig(method, epochs: 25, seed: 7)
        c.hiddenWidths = [32, 32]
        c.batchSize = 30
        c.optimizer = .adam
        c.learningRate = 1e-2
        c.schedule = .constant
        c.weightDecay = 0
        configure(&c)
        let trainer = try Trainer(config: c, train: train, test: test, outputDirectory: nil)
        try trainer.run()
        return trainer
    }

    @Test("GradReg lowers the input-gradient norm; LCNN lowers β (from 5), γ (from 10) and the normalised curvature (vs Standard, β = 1000)")
    func methodsVersusStandard() throws {
        let standard = try Self.run(.standard)
        #expect(standard.history.last!.testAccuracy > 0.9, "Standard learns two moons")
        #expect(standard.history.last!.meanBeta == nil, "Standard has no learnable β")

        // G1: E‖∇ₓℓ‖ on test points, evaluation mode.
        let gradreg = try Self.run(.gradreg) { $0.objective.gradientPenaltyWeight = 0.1 }
        let gs = TrainFixtures.mean(TrainFixtures.perSampleGradientNorms(standard.model, Self.test.images, Self.test.labels))
        let gg = TrainFixtures.mean(TrainFixtures.perSampleGradientNorms(gradreg.model, Self.test.images, Self.test.labels))
        #expect(gg < 0.75 * gs, "mean ‖∇ₓℓ‖: GradReg \(gg) vs Standard \(gs)")
        #expect(gradreg.history.last!.terms["gradient_penalty"] != nil)
        #expect(gradreg.history.last!.testAccuracy > 0.85, "GradReg still classifies")

        // β and G3: E ‖∇²ₓℓ‖₂ / (‖∇ₓℓ‖ + 1e-6) by power iteration on Hessian-vector products.
        let lcnn = try Self.run(.lcnn) { $0.objective.penalty = LCNNPenalty(form: .paper, betaWeight: 0.1, gammaWeight: 1) }
        let betas = lcnn.history.compactMap(\.meanBeta)
        #expect(betas.count == lcnn.history.count)
        #expect(betas.last! < 0.5 * 5, "mean β \(betas.first!) → \(betas.last!)")
        #expect(betas.last! < betas.first!)
        // γ of the γ-Lipschitz batch norms (the LCNN MLP has two) falls from its initial 10.
        let gammas = lcnn.history.compactMap(\.meanGamma)
        #expect(gammas.count == lcnn.history.count)
        #expect(gammas.last! < 10, "mean γ \(gammas.first!) → \(gammas.last!)")
        #expect(standard.history.last!.meanGamma == nil, "Standard has no γ")
        func normalised(_ model: any Layer) -> Float {
            let c = TrainFixtures.curvature(model, Self.test.images, Self.test.labels)
            return TrainFixtures.mean(zip(c.hessianNorm, c.gradientNorm).map { $0 / ($1 + 1e-6) })
        }
        let (ns, nl) = (normalised(standard.model), normalised(lcnn.model))
        #expect(nl < 0.2 * ns, "mean ‖∇²ℓ‖/‖∇ℓ‖: LCNN \(nl) vs Standard \(ns)")
        #expect(lcnn.history.last!.testAccuracy > 0.7, "LCNN still classifies")
    }
}
