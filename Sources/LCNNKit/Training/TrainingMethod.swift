import NN

/// The training methods of the paper's Table 1 (SPEC T1–T7), each a combination of an
/// architecture form, extra objective terms and an input transformation, so that no method
/// copies another's code.
public enum TrainingMethod: String, Sendable, CaseIterable, Codable {
    /// T1: softplus β = 1000 network, cross-entropy.
    case standard
    /// T2: LCNN architecture (B2 + B4 + B5 + B6), cross-entropy + the LCNN penalty (B7).
    case lcnn
    /// T3: cross-entropy + λg·‖∇ₓℓ‖² by double backprop.
    case gradreg
    /// T4: T2 + T3.
    case lcnnGradreg = "lcnn+gradreg"
    /// T5: CURE, cross-entropy + λ·‖∇ℓ(x + h z) − ∇ℓ(x)‖².
    case cure
    /// T6: softplus β = 10 with weight decay 5e-4 (Dombrowski et al. 2022).
    case softplusWD = "softplus-wd"
    /// T7: training on ℓ2-PGD adversarial examples (Madry et al.).
    case adversarial

    /// The name figures and reports use: "Standard", "LCNN", "LCNN + GradReg", ….
    public var displayName: String {
        switch self {
        case .standard: return "Standard"
        case .lcnn: return "LCNN"
        case .gradreg: return "GradReg"
        case .lcnnGradreg: return "LCNN + GradReg"
        case .cure: return "CURE"
        case .softplusWD: return "Softplus + WD"
        case .adversarial: return "Adversarial training"
        }
    }

    /// Whether the model is built in LCNN form.
    public var usesLCNNArchitecture: Bool { self == .lcnn || self == .lcnnGradreg }
    /// Whether the LCNN penalty on β and γ is added.
    public var usesLCNNPenalty: Bool { usesLCNNArchitecture }
    /// Whether the gradient-norm penalty is added.
    public var usesGradientPenalty: Bool { self == .gradreg || self == .lcnnGradreg }

    /// The model configuration this method trains, from a base configuration: LCNN form and
    /// centered softplus for LCNN methods, softplus β = 10 for softplus + weight decay, and
    /// softplus β = 1000 otherwise (unless an activation was chosen explicitly).
    public func modelConfig(from base: ModelConfig, activationOverride: ActivationKind? = nil) -> ModelConfig {
        var config = base
        config.lcnn = usesLCNNArchitecture
        config.activation = activationOverride ?? (usesLCNNArchitecture ? .centeredSoftplus : .softplus)
        config.softplusBeta = self == .softplusWD ? 10 : 1000
        // The MLP has (γ-Lipschitz) batch norm in LCNN form only.
        if config.architecture == .mlp { config.batchNorm = usesLCNNArchitecture }
        return config
    }
}
