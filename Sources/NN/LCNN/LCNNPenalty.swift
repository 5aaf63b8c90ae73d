import TensorCore

/// The LCNN regulariser on activation β and batch-norm γ (paper §3.5, eq. 5; SPEC B7).
///
/// Paper form (default): `R = λβ Σᵢ log βᵢ + λγ Σⱼ log γⱼ` with λβ = 1e-4, λγ = 1e-5
/// (appendix E). Reference-code form: `R = λβ Σᵢ βᵢ + λγ Σⱼ |log γⱼ|` with 1e-2 and 1e-2.
/// βᵢ ranges over the learnable-β activations (centered softplus, parametric swish) and γⱼ
/// over the γ-Lipschitz batch norms.
public struct LCNNPenalty: Sendable, Equatable, Codable {
    public enum Form: String, Sendable, CaseIterable, Codable { case paper, reference }

    public var form: Form
    public var betaWeight: Float
    public var gammaWeight: Float

    /// The paper's form and weights.
    public static let paper = LCNNPenalty(form: .paper, betaWeight: 1e-4, gammaWeight: 1e-5)
    /// The authors' code's form and weights.
    public static let reference = LCNNPenalty(form: .reference, betaWeight: 1e-2, gammaWeight: 1e-2)

    public init(form: Form, betaWeight: Float, gammaWeight: Float) {
        (self.form, self.betaWeight, self.gammaWeight) = (form, betaWeight, gammaWeight)
    }

    /// The log β parameters of a model, in traversal order.
    public static func logBetas(of model: any Layer) -> [Tensor] {
        model.allLayers.compactMap { entry -> Tensor? in
            if let a = entry.layer as? CenteredSoftplus { return a.logBeta }
            if let a = entry.layer as? ParametricSwish { return a.logBeta }
            return nil
        }
    }

    /// The log γ parameters of a model, in traversal order.
    public static func logGammas(of model: any Layer) -> [Tensor] {
        model.sublayers(of: LipschitzBatchNorm.self).map(\.logLipschitz)
    }

    /// R for `model`, recorded (differentiable in every log β and log γ); 0 for a model without
    /// learnable β or γ.
    public func callAsFunction(_ model: any Layer) -> Tensor {
        let betas = Self.logBetas(of: model), gammas = Self.logGammas(of: model)
        var total = Tensor(0)
        switch form {
        case .paper:
            for b in betas { total = total + b * betaWeight }
            for g in gammas { total = total + g * gammaWeight }
        case .reference:
            for b in betas { total = total + exp(b) * betaWeight }
            for g in gammas { total = total + abs(g) * gammaWeight }
        }
        return total
    }
}
