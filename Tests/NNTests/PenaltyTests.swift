import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// The LCNN regulariser (SPEC B7, paper eq. 5).
@Suite("LCNN penalty")
struct PenaltyTests {
    /// A small-input LCNN SmallCNN (same layer structure as the 28×28 one: 3 activations, 2 γ-BNs)
    /// with distinct β and γ values, some γ below 1 so that |log γ| ≠ log γ.
    static func lcnnSmallCNN() -> (model: any Layer, betas: [Double], gammas: [Double]) {
        let model = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, 8, 8]).makeModel()
        let betas = [0.7, 5.0, 12.0], gammas = [0.4, 3.0]
        let acts = model.sublayers(of: CenteredSoftplus.self)
        let bns = model.sublayers(of: LipschitzBatchNorm.self)
        for (a, b) in zip(acts, betas) { a.logBeta.assign(Tensor(Float(log(b)))) }
        for (n, g) in zip(bns, gammas) { n.logLipschitz.assign(Tensor(Float(log(g)))) }
        return (model, betas, gammas)
    }

    @Test("Defaults: paper λβ = 1e-4, λγ = 1e-5; reference code 1e-2, 1e-2")
    func defaults() {
        #expect(LCNNPenalty.paper == LCNNPenalty(form: .paper, betaWeight: 1e-4, gammaWeight: 1e-5))
        #expect(LCNNPenalty.reference == LCNNPenalty(form: .reference, betaWeight: 1e-2, gammaWeight: 1e-2))
    }

    @Test("Paper form: R = 1e-4·Σ log β + 1e-5·Σ log γ over the 3 activations and 2 γ-BNs of an LCNN SmallCNN")
    func paperForm() {
        let (model, betas, gammas) = Self.lcnnSmallCNN()
        #expect(LCNNPenalty.logBetas(of: model).count == 3)
        #expect(LCNNPenalty.logGammas(of: model).count == 2)
        let r = LCNNPenalty.paper(model)
        #expect(r.shape == [] || r.count == 1)
        let expected = 1e-4 * betas.map { Foundation.log($0) }.reduce(0, +) + 1e-5 * gammas.map { Foundation.log($0) }.reduce(0, +)
        #expect(Swift.abs(Double(r.item) - expected) <= 1e-5 * Swift.abs(expected) + 1e-10, "R = \(r.item), expected \(expected)")
    }

    @Test("Reference form: R = 1e-2·Σ β + 1e-2·Σ |log γ|")
    func referenceForm() {
        let (model, betas, gammas) = Self.lcnnSmallCNN()
        let r = LCNNPenalty.reference(model)
        let expected = 1e-2 * betas.reduce(0, +) + 1e-2 * gammas.map { Swift.abs(Foundation.log($0)) }.reduce(0, +)
        #expect(Swift.abs(Double(r.item) - expected) <= 1e-5 * expected, "R = \(r.item), expected \(expected)")
        // Custom weights scale each sum separately.
        let custom = LCNNPenalty(form: .reference, betaWeight: 2, gammaWeight: 0)(model)
        #expect(NNTestKit.relativelyClose(Double(custom.item), 2 * betas.reduce(0, +), 1e-5))
        let gammaOnly = LCNNPenalty(form: .paper, betaWeight: 0, gammaWeight: 1)(model)
        #expect(NNTestKit.relativelyClose(Double(gammaOnly.item), gammas.map { Foundation.log($0) }.reduce(0, +), 1e-5))
    }

    @Test("Zero for Standard models (no learnable β or γ)", arguments: [Architecture.mlp, .smallcnn])
    func zeroForStandard(_ architecture: Architecture) {
        let inputShape = architecture == .mlp ? [2] : [1, 8, 8]
        let model = ModelConfig(architecture: architecture, inputShape: inputShape).makeModel()
        #expect(LCNNPenalty.logBetas(of: model).isEmpty && LCNNPenalty.logGammas(of: model).isEmpty)
        for form in LCNNPenalty.Form.allCases {
            #expect(LCNNPenalty(form: form, betaWeight: 1, gammaWeight: 1)(model).item == 0)
        }
    }

    @Test("Gradients: paper form gives λβ per log β and λγ per log γ; reference form λβ·β and λγ·sign(log γ)")
    func gradients() {
        let (model, betas, gammas) = Self.lcnnSmallCNN()
        let logBetas = LCNNPenalty.logBetas(of: model), logGammas = LCNNPenalty.logGammas(of: model)
        let wrt = logBetas + logGammas
        let paper = TensorCore.gradients(of: LCNNPenalty.paper(model), wrt: wrt).map(\.item)
        for i in 0..<3 { #expect(NNTestKit.relativelyClose(Double(paper[i]), 1e-4, 1e-5), "∂R/∂log β = \(paper[i])") }
        for j in 0..<2 { #expect(NNTestKit.relativelyClose(Double(paper[3 + j]), 1e-5, 1e-5), "∂R/∂log γ = \(paper[3 + j])") }
        let reference = TensorCore.gradients(of: LCNNPenalty.reference(model), wrt: wrt).map(\.item)
        for i in 0..<3 { #expect(NNTestKit.relativelyClose(Double(reference[i]), 1e-2 * betas[i], 1e-5), "∂R/∂log β = \(reference[i])") }
        for j in 0..<2 {
            let sign = gammas[j] >= 1 ? 1.0 : -1.0
            #expect(NNTestKit.relativelyClose(Double(reference[3 + j]), 1e-2 * sign, 1e-5), "∂R/∂log γ = \(reference[3 + j])")
        }
        // backward() accumulates into the parameters themselves.
        model.zeroGrad()
        LCNNPenalty.paper(model).backward()
        #expect(logBetas.allSatisfy { Swift.abs(($0.grad?.item ?? 0) - 1e-4) <= 1e-9 })
        model.zeroGrad()
    }

    @Test("Parametric swish β is penalised like centered softplus β")
    func swishBetas() {
        let model = ModelConfig(architecture: .mlp, lcnn: true, activation: .swish, initialBeta: 2, hiddenWidths: [4, 4], batchNorm: false).makeModel()
        let logBetas = LCNNPenalty.logBetas(of: model)
        #expect(logBetas.count == 2)
        #expect(NNTestKit.relativelyClose(Double(LCNNPenalty.reference(model).item), 1e-2 * 4, 1e-5))
        #expect(NNTestKit.relativelyClose(Double(LCNNPenalty.paper(model).item), 1e-4 * 2 * Foundation.log(2.0), 1e-4))
    }
}
