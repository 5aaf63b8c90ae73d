import NN
import TensorCore

/// The weights and options of the objective's terms, with the paper's defaults (appendix E).
public struct ObjectiveOptions: Sendable, Codable, Equatable {
    /// B7: the LCNN penalty's form and weights (λβ = 1e-4, λγ = 1e-5).
    public var penalty: LCNNPenalty
    /// T3: λg. The term is λg·(1/B)·Σᵢ‖∇ₓℓᵢ‖², the per-sample squared input-gradient norm
    /// averaged over the batch. (The reference code uses 1e5·‖∇ₓL̄‖²/B with L̄ the batch mean,
    /// i.e. 1e5/B³·Σᵢ‖∇ₓℓᵢ‖².)
    public var gradientPenaltyWeight: Float = 1e-3
    /// T5: CURE's λ and finite-difference step h.
    public var cureWeight: Float = 1e-3
    public var cureStep: Float = 1
    /// T7: the ℓ2-PGD attack used for adversarial training (ε = 0.1, 3 steps, random start).
    public var adversarialEpsilon: Float = 0.1
    public var adversarialSteps: Int = 3
    /// α; nil means 2.5·ε/steps (the reference code uses 0.01).
    public var adversarialStepSize: Float? = nil
    /// The range adversarial inputs are clipped to: [0, 1] for images, nil for two moons.
    public var inputRange: ClosedRange<Float>? = 0...1

    public init(penalty: LCNNPenalty = .paper) { self.penalty = penalty }

    /// Decoding keeps the defaults of absent keys, so a configuration file may set only some.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.penalty, &penalty)
        try read(.gradientPenaltyWeight, &gradientPenaltyWeight)
        try read(.cureWeight, &cureWeight)
        try read(.cureStep, &cureStep)
        try read(.adversarialEpsilon, &adversarialEpsilon)
        try read(.adversarialSteps, &adversarialSteps)
        adversarialStepSize = try c.decodeIfPresent(Float.self, forKey: .adversarialStepSize)
        if c.contains(.inputRange) { inputRange = try c.decodeIfPresent(ClosedRange<Float>.self, forKey: .inputRange) }
    }

    enum CodingKeys: String, CodingKey {
        case penalty, gradientPenaltyWeight, cureWeight, cureStep, adversarialEpsilon, adversarialSteps
        case adversarialStepSize, inputRange
    }
}


/// One step's objective: the total to minimise and each term's value, by name
/// (`cross_entropy`, `lcnn_penalty`, `gradient_penalty`, `cure_penalty`).
public struct ObjectiveValue {
    public let total: Tensor
    public let terms: [(name: String, value: Tensor)]
    /// The logits on the (possibly adversarial) training inputs, for accuracy.
    public let logits: Tensor
}

/// Builds the training objective of a method on one batch (in training mode).
public struct Objective {
    public let method: TrainingMethod
    public let options: ObjectiveOptions

    public init(method: TrainingMethod, options: ObjectiveOptions) {
        self.method = method
        self.options = options
    }

    /// The objective on `(x, labels)`. `generator` drives the random start of adversarial
    /// training.
    public func evaluate(model: any Layer, x: Tensor, labels: [Int], generator: inout SeededGenerator) -> ObjectiveValue {
        var input = x
        if method == .adversarial {
            let attack = PGD(norm: .l2, epsilon: options.adversarialEpsilon, steps: options.adversarialSteps,
                             stepSize: options.adversarialStepSize, inputRange: options.inputRange)
            input = inference { attack.attack({ model($0) }, x, labels: labels, generator: &generator) }
        }
        let needsInputGradient = method.usesGradientPenalty || method == .cure
        let xg = needsInputGradient ? input.detached().requiringGrad() : input
        let logits = model(xg)
        let perSample = crossEntropy(logits: logits, labels: labels, reduction: .none)
        let ce = perSample.mean()
        var terms: [(String, Tensor)] = [("cross_entropy", ce)]
        let batch = Float(labels.count)

        if method.usesLCNNPenalty {
            terms.append(("lcnn_penalty", options.penalty(model)))
        }
        if needsInputGradient {
            // Σᵢℓᵢ has ∇ₓᵢ = ∇ₓℓᵢ, each sample's own input gradient (recorded: double backprop).
            let g = gradients(of: perSample.sum(), wrt: [xg], createGraph: true)[0]
            if method.usesGradientPenalty {
                terms.append(("gradient_penalty", g.squaredNorm() * (options.gradientPenaltyWeight / batch)))
            }
            if method == .cure {
                terms.append(("cure_penalty", cureTerm(model: model, x: input, labels: labels, gradient: g, batch: batch)))
            }
        }
        let total = terms.dropFirst().reduce(ce) { $0 + $1.1 }
        return ObjectiveValue(total: total, terms: terms, logits: logits)
    }

    /// CURE (Moosavi-Dezfooli et al. 2019): λ·(1/B)·Σᵢ‖∇ℓ(xᵢ + h zᵢ) − ∇ℓ(xᵢ)‖² with
    /// zᵢ = sign(∇ℓ(xᵢ))/‖sign(∇ℓ(xᵢ))‖ held constant.
    func cureTerm(model: any Layer, x: Tensor, labels: [Int], gradient g: Tensor, batch: Float) -> Tensor {
        let z = withoutGrad { sign(g).perSampleNormalized() }
        let shifted = withoutGrad { x + z * options.cureStep }.requiringGrad()
        let lossShifted = crossEntropy(logits: model(shifted), labels: labels, reduction: .sum)
        let gShifted = gradients(of: lossShifted, wrt: [shifted], createGraph: true)[0]
        return (gShifted - g).squaredNorm() * (options.cureWeight / batch)
    }
}
