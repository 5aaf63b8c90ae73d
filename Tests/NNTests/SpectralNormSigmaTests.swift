import Testing
import TensorCore
@testable import NN
import _TestSupport

/// σ̂ = uᵀWv of `SpectralNormLinear` is one recorded operation with the rule ∂σ̂/∂W = u vᵀ.
/// These checks cover it alone and inside W ↦ x(W/σ̂)ᵀ, at first and second order, and show
/// that the same checks fail for deliberately wrong rules.
@Suite("SpectralNorm σ̂ operation")
struct SpectralNormSigmaTests {
    let w = Fixtures.normal([3, 5], seed: 401)
    let u = Fixtures.normal([3], seed: 402)
    let v = Fixtures.normal([5], seed: 403)
    let x = Fixtures.normal([4, 5], seed: 404)

    /// x (W/σ̂(W))ᵀ, the map a spectrally normalised layer applies (bias left out).
    func layerMap(gradient: ((Tensor, Tensor) -> Tensor)? = nil) -> ([Tensor]) -> Tensor {
        { [u, v, x] a in linear(x, weight: a[0] / SpectralNormLinear.bilinearSigma(a[0], u: u, v: v, gradient: gradient), bias: nil) }
    }

    @Test("σ̂ equals uᵀWv computed by matmuls, and its gradient is u vᵀ")
    func valueAndGradient() {
        let sigma = SpectralNormLinear.bilinearSigma(w, u: u, v: v)
        let reference = matmul(matmul(u.reshaped(to: [1, -1]), w), v.reshaped(to: [-1, 1])).item
        #expect(abs(sigma.item - reference) <= 1e-5 * max(1, abs(reference)))
        let leaf = w.copy().requiringGrad()
        let grad = gradients(of: SpectralNormLinear.bilinearSigma(leaf, u: u, v: v), wrt: [leaf])[0].scalars
        let outer = (0..<3).flatMap { r in (0..<5).map { c in u.scalars[r] * v.scalars[c] } }
        #expect(zip(grad, outer).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("first- and second-order gradient checks pass, alone and through W/σ̂")
    func gradChecksPass() {
        let alone: ([Tensor]) -> Tensor = { [u, v] a in SpectralNormLinear.bilinearSigma(a[0], u: u, v: v) }
        for f in [alone, layerMap()] {
            let first = GradCheck().firstOrder([w], f)
            #expect(GradCheck.allPassed(first), "\(first)")
            let second = GradCheck().secondOrder([w], f)
            #expect(GradCheck.allPassed(second), "\(second)")
        }
    }

    @Test("a rule 10 % too large fails the first-order check")
    func scaledRuleFails() {
        let wrong: (Tensor, Tensor) -> Tensor = { u, v in u.reshaped(to: [3, 1]) * v.reshaped(to: [1, 5]) * 1.1 }
        let alone = GradCheck().firstOrder([w]) { [u, v] a in SpectralNormLinear.bilinearSigma(a[0], u: u, v: v, gradient: wrong) }
        #expect(!GradCheck.allPassed(alone), "\(alone)")
        let through = GradCheck().firstOrder([w], layerMap(gradient: wrong))
        #expect(!GradCheck.allPassed(through), "\(through)")
    }

    @Test("a rule that loses the gradOutput path fails the second-order check")
    func detachedRuleFailsSecondOrder() {
        // Correct values, but gradOutput is folded in unrecorded: ∂/∂(gradOutput) is lost, so
        // double backprop through W/σ̂ misses the σ̂ terms.
        let f: ([Tensor]) -> Tensor = { [u, v, x] a in
            let sigma = withoutGrad { SpectralNormLinear.bilinearSigma(a[0].detached(), u: u, v: v) }
            let op = Tensor.differentiable(sigma, op: "detachedSigma", inputs: [a[0]]) { c in
                [c.gradOutput.detached() * (u.reshaped(to: [3, 1]) * v.reshaped(to: [1, 5]))]
            }
            return linear(x, weight: a[0] / op, bias: nil)
        }
        let first = GradCheck().firstOrder([w], f)
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = GradCheck().secondOrder([w], f)
        #expect(!GradCheck.allPassed(second), "\(second)")
    }

    @Test("in training, the applied weight is W / uᵀWv for the updated u, v; spectralNorm() is uᵀWv")
    func layerSigmaMatchesMatmul() {
        var g = SeededGenerator(seed: 405)
        let layer = SpectralNormLinear(inFeatures: 37, outFeatures: 19, initialIterations: 0, generator: &g)
        let weightTrain = training { layer.normalizedWeight() }
        let reference = matmul(matmul(layer.u.reshaped(to: [1, -1]), layer.weight),
                               layer.v.reshaped(to: [-1, 1])).item
        let expected = layer.weight.scalars.map { $0 / reference }
        #expect(zip(weightTrain.scalars, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        #expect(abs(layer.spectralNorm().item - reference) <= 1e-5 * max(1, abs(reference)))
    }
}
