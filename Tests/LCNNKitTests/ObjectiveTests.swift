import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// SPEC T1–T7: each method's objective has the right terms, the gradient and CURE penalties
/// are what their formulas say, and a few optimiser steps on the objective lower it.
@Suite("Objective")
struct ObjectiveTests {
    static let expectedTerms: [TrainingMethod: [String]] = [
        .standard: ["cross_entropy"],
        .lcnn: ["cross_entropy", "lcnn_penalty"],
        .gradreg: ["cross_entropy", "gradient_penalty"],
        .lcnnGradreg: ["cross_entropy", "lcnn_penalty", "gradient_penalty"],
        .cure: ["cross_entropy", "cure_penalty"],
        .softplusWD: ["cross_entropy"],
        .adversarial: ["cross_entropy"],
    ]

    static func model(_ method: TrainingMethod, seed: UInt64 = 5) -> any Layer {
        let base = ModelConfig(architecture: .mlp, inputShape: [2], classes: 2, hiddenWidths: [16, 16], seed: seed)
        return method.modelConfig(from: base).makeModel()
    }

    @Test("every method lowers its own objective; term names and total are right", arguments: TrainingMethod.allCases)
    func methodLowersItsObjective(_ method: TrainingMethod) {
        let data = TrainFixtures.moons(200)
        let model = Self.model(method)
        let objective = Objective(method: method, options: ObjectiveOptions())
        // The objective on the fixed batch (fixed attack generator), in evaluation mode.
        func value() -> ObjectiveValue {
            var g = SeededGenerator(seed: 99)
            return objective.evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
        }
        let before = value()
        #expect(before.terms.map(\.name) == Self.expectedTerms[method], "terms of \(method.rawValue)")
        let sum = before.terms.reduce(Float(0)) { $0 + $1.value.item }
        #expect(abs(before.total.item - sum) <= 1e-5 * max(1, abs(sum)), "total = sum of the terms")
        #expect(before.logits.shape == [200, 2])

        let optimizer = Adam(parameters: model.namedParameters, learningRate: 1e-2)
        var g = SeededGenerator(seed: 7)
        for _ in 0..<30 {
            training {
                let v = objective.evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
                optimizer.zeroGrad()
                v.total.backward()
                optimizer.step()
            }
        }
        let after = value()
        #expect(after.total.item.isFinite)
        #expect(after.total.item < before.total.item - 0.05,
                "\(method.rawValue): objective \(before.total.item) → \(after.total.item) after 30 Adam steps")
    }

    @Test("the LCNN penalty term is the configured penalty of the model", arguments: [TrainingMethod.lcnn, .lcnnGradreg])
    func lcnnPenaltyTerm(_ method: TrainingMethod) {
        let data = TrainFixtures.moons(16)
        let model = Self.model(method)
        for penalty in [LCNNPenalty.paper, .reference, LCNNPenalty(form: .paper, betaWeight: 0.3, gammaWeight: 0.2)] {
            var g = SeededGenerator(seed: 1)
            let value = Objective(method: method, options: ObjectiveOptions(penalty: penalty))
                .evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
            let term = value.terms.first { $0.name == "lcnn_penalty" }?.value.item
            // MLP [16, 16] in LCNN form: two centered-softplus activations with β = 5 and two
            // γ-Lipschitz batch norms with γ = 10.
            let expected = penalty.form == .paper
                ? 2 * penalty.betaWeight * Float(Foundation.log(5.0)) + 2 * penalty.gammaWeight * Float(Foundation.log(10.0))
                : 2 * penalty.betaWeight * 5 + 2 * penalty.gammaWeight * Float(Foundation.log(10.0))
            #expect(term != nil && abs(term! - expected) <= 1e-5 * max(1, expected), "\(penalty): \(term ?? .nan) vs \(expected)")
        }
    }

    @Test("the gradient penalty is λg·mean‖∇ₓℓᵢ‖², computed per sample", arguments: [TrainingMethod.gradreg, .lcnnGradreg])
    func gradientPenaltyMatchesPerSampleLoop(_ method: TrainingMethod) {
        let data = TrainFixtures.moons(24, seed: 4)
        let model = Self.model(method, seed: 8)
        var options = ObjectiveOptions()
        options.gradientPenaltyWeight = 0.37
        var g = SeededGenerator(seed: 1)
        // Evaluation mode: samples do not interact (the LCNN form's power iteration is frozen).
        let value = Objective(method: method, options: options)
            .evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
        let term = value.terms.first { $0.name == "gradient_penalty" }!.value.item
        let norms = TrainFixtures.perSampleGradientNorms(model, data.images, data.labels)
        let expected = 0.37 * norms.map { $0 * $0 }.reduce(0, +) / Float(norms.count)
        #expect(expected > 1e-4, "a non-trivial reference value")
        #expect(abs(term - expected) <= 1e-4 * expected, "gradient_penalty \(term) vs per-sample \(expected)")
    }

    @Test("the gradient penalty is differentiable in the weights (double backprop): matches finite differences")
    func gradientPenaltyParameterGradient() {
        let data = TrainFixtures.moons(16, seed: 6)
        // LCNN form: smooth (centered softplus β = 5), spectral norm frozen in evaluation mode.
        let model = Self.model(.lcnnGradreg, seed: 2)
        var options = ObjectiveOptions()
        options.gradientPenaltyWeight = 1
        let objective = Objective(method: .gradreg, options: options)
        func penalty() -> Tensor {
            var g = SeededGenerator(seed: 1)
            return objective.evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
                .terms.first { $0.name == "gradient_penalty" }!.value
        }
        let params = model.namedParameters.filter { !$0.noWeightDecay }.map(\.tensor)
        let grads = gradients(of: penalty(), wrt: params)
        var rng = SeededGenerator(seed: 3)
        let directions = params.map { Tensor.normal($0.shape, generator: &rng) }
        let analytic = zip(grads, directions).reduce(Float(0)) { $0 + ($1.0 * $1.1).sum().item }
        let originals = params.map { $0.copy() }
        func shifted(_ h: Float) -> Float {
            for (p, (o, d)) in zip(params, zip(originals, directions)) { p.assign(withoutGrad { o + d * h }) }
            return penalty().item
        }
        let h: Float = 1e-2
        let numeric = (shifted(h) - shifted(-h)) / (2 * h)
        for (p, o) in zip(params, originals) { p.assign(o) }
        #expect(abs(analytic) > 1e-3, "a non-trivial directional derivative")
        #expect(abs(numeric - analytic) <= 0.03 * abs(analytic) + 1e-4, "d/dθ gradient_penalty: analytic \(analytic), numeric \(numeric)")
    }

    @Test("the CURE penalty is λ·mean‖∇ℓ(x + h z) − ∇ℓ(x)‖² with z = sign(∇ℓ)/‖sign(∇ℓ)‖")
    func curePenaltyMatchesPerSampleLoop() {
        let data = TrainFixtures.moons(12, seed: 9)
        let model = Self.model(.cure, seed: 4)
        var options = ObjectiveOptions()
        options.cureWeight = 0.3
        options.cureStep = 0.5
        var g = SeededGenerator(seed: 1)
        let value = Objective(method: .cure, options: options)
            .evaluate(model: model, x: data.images, labels: data.labels, generator: &g)
        let term = value.terms.first { $0.name == "cure_penalty" }!.value.item
        var sum: Float = 0
        inference {
            for i in 0..<data.count {
                let x = TrainFixtures.row(data.images, i)
                let gx = inputGradient(of: { model($0) }, at: x, labels: [data.labels[i]]).gradient
                let s = gx.scalars.map { Float($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) }
                let sn = Foundation.sqrt(s.map { $0 * $0 }.reduce(0, +))
                let z = Tensor(s.map { $0 / max(sn, 1e-12) }, shape: x.shape)
                let gShift = inputGradient(of: { model($0) }, at: withoutGrad { x + z * 0.5 }, labels: [data.labels[i]]).gradient
                sum += withoutGrad { (gShift - gx).squaredNorm() }.item
            }
        }
        let expected = 0.3 * sum / Float(data.count)
        #expect(expected > 1e-6, "a non-trivial reference value")
        #expect(abs(term - expected) <= 1e-3 * expected + 1e-7, "cure_penalty \(term) vs per-sample \(expected)")
    }

    @Test("adversarial training with ε = 0 is standard training (the attack must not move the inputs)")
    func adversarialWithZeroEpsilonIsStandard() {
        // Two-moons coordinates lie outside [0, 1]: an attack that clips to the image range
        // moves them far beyond its ε-ball.
        let data = TrainFixtures.moons(64, seed: 2)
        let model = Self.model(.adversarial)
        var options = ObjectiveOptions()
        options.adversarialEpsilon = 0
        options.inputRange = nil   // what the trainer sets for two moons
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 1)
        let adversarial = Objective(method: .adversarial, options: options)
            .evaluate(model: model, x: data.images, labels: data.labels, generator: &g1).total.item
        let standard = Objective(method: .standard, options: options)
            .evaluate(model: model, x: data.images, labels: data.labels, generator: &g2).total.item
        #expect(abs(adversarial - standard) <= 1e-6 * max(1, standard), "ε = 0: adversarial CE \(adversarial) vs clean CE \(standard)")
    }

    @Test("the method's model form: LCNN methods are spectrally normalised with learnable β, others fixed softplus")
    func methodModelForms() {
        let base = ModelConfig(architecture: .mlp, inputShape: [2], classes: 2)
        for method in TrainingMethod.allCases {
            let c = method.modelConfig(from: base)
            #expect(c.lcnn == (method == .lcnn || method == .lcnnGradreg))
            #expect(c.activation == (c.lcnn ? .centeredSoftplus : .softplus))
            #expect(c.softplusBeta == (method == .softplusWD ? 10 : 1000))
            #expect(method.modelConfig(from: base, activationOverride: .swish).activation == .swish)
        }
    }
}
