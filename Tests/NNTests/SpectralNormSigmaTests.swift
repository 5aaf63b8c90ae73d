import Testing
import TensorCore
@testable import NN
import _TestSupport

/// σ̂ = uᵀWv of `SpectralNormLinear` is one recorded primitive of TensorCore
/// (`spectralNormSigma`, rule ∂σ̂/∂W = u vᵀ). These checks cover it alone and inside
/// W ↦ x(W/σ̂)ᵀ, at first and second order, and show that the same checks fail for deliberately
/// wrong rules, built here as user-defined operations with the same value.
@Suite("SpectralNorm σ̂ operation")
struct SpectralNormSigmaTests {
    let w = Fixtures.normal([3, 5], seed: 401)
    let u = Fixtures.normal([3], seed: 402)
    let v = Fixtures.normal([5], seed: 403)
    let x = Fixtures.normal([4, 5], seed: 404)

    /// x (W/σ̂(W))ᵀ, the map a spectrally normalised layer applies (bias left out), with σ̂ given
    /// by `sigma`.
    func layerMap(_ sigma: @escaping (Tensor) -> Tensor) -> ([Tensor]) -> Tensor {
        { [x] a in linear(x, weight: a[0] / sigma(a[0]), bias: nil) }
    }

    /// The primitive σ̂(W) for this suite's u and v.
    var sigma: (Tensor) -> Tensor { { [u, v] w in spectralNormSigma(w, u: u, v: v) } }

    /// σ̂(W) with the primitive's value but the rule ∂W = `rule(gradOutput, u vᵀ)`, recorded as a
    /// user-defined operation: a stand-in for a wrong rule in the primitive.
    func sigma(rule: @escaping (Tensor, Tensor) -> Tensor) -> (Tensor) -> Tensor {
        { [u, v] w in
            let value = withoutGrad { spectralNormSigma(w.detached(), u: u, v: v) }
            return Tensor.differentiable(value, op: "wrongSigma", inputs: [w]) { c in
                [rule(c.gradOutput, outerProduct(u, v))]
            }
        }
    }

    @Test("σ̂ equals uᵀWv computed by matmuls, and its gradient is u vᵀ")
    func valueAndGradient() {
        let sigma = spectralNormSigma(w, u: u, v: v)
        let reference = matmul(matmul(u.reshaped(to: [1, -1]), w), v.reshaped(to: [-1, 1])).item
        #expect(abs(sigma.item - reference) <= 1e-5 * max(1, abs(reference)))
        let leaf = w.copy().requiringGrad()
        let grad = gradients(of: spectralNormSigma(leaf, u: u, v: v), wrt: [leaf])[0].scalars
        let outer = (0..<3).flatMap { r in (0..<5).map { c in u.scalars[r] * v.scalars[c] } }
        #expect(zip(grad, outer).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("first- and second-order gradient checks pass, alone and through W/σ̂")
    func gradChecksPass() {
        let alone: ([Tensor]) -> Tensor = { [sigma] a in sigma(a[0]) }
        for f in [alone, layerMap(sigma)] {
            let first = GradCheck().firstOrder([w], f)
            #expect(GradCheck.allPassed(first), "\(first)")
            let second = GradCheck().secondOrder([w], f)
            #expect(GradCheck.allPassed(second), "\(second)")
        }
    }

    @Test("a rule 10 % too large fails the first-order check (the stand-in with the true rule passes)")
    func scaledRuleFails() {
        let right = sigma { g, uv in g * uv }
        for f in [{ a in right(a[0]) }, layerMap(right)] {
            let first = GradCheck().firstOrder([w], f)
            #expect(GradCheck.allPassed(first), "\(first)")
        }
        let wrong = sigma { g, uv in g * uv * 1.1 }
        let alone = GradCheck().firstOrder([w]) { a in wrong(a[0]) }
        #expect(!GradCheck.allPassed(alone), "\(alone)")
        let through = GradCheck().firstOrder([w], layerMap(wrong))
        #expect(!GradCheck.allPassed(through), "\(through)")
    }

    @Test("a rule that loses the gradOutput path fails the second-order check")
    func detachedRuleFailsSecondOrder() {
        // Correct values, but gradOutput is folded in unrecorded: ∂/∂(gradOutput) is lost, so
        // double backprop through W/σ̂ misses the σ̂ terms.
        let f = layerMap(sigma { g, uv in g.detached() * uv })
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
