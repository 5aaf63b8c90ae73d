import Testing
import TensorCore
import _TestSupport

/// `scaledSumSoftplus(a, b, scale:, beta:, centered:)` = softplus_β(scale·(a + b)): the composition's
/// values and first-order gradients (a, b and a learnable β), bit for bit where the scale is a power
/// of two (½ and 1, the ResNets' blocks) and to rounding otherwise; gradient checks of every order
/// are the op catalogue's (GradCheckCatalogueTests).
@Suite("scaledSumSoftplus")
struct ScaledSumSoftplusTests {
    static func composed(_ a: Tensor, _ b: Tensor, scale: Float, beta: Tensor, centered: Bool) -> Tensor {
        softplus(scale == 1 ? a + b : scaledSum(a, b, scale: scale), beta: beta, centered: centered)
    }

    @Test("values and gradients of the composition", arguments: [(Float(0.5), true), (1, false), (0.5, false), (0.3, true)])
    func matchesComposition(_ c: (scale: Float, centered: Bool)) {
        // 37 values: two vectors of 16 and a tail.
        let a = Fixtures.normal([37], seed: 901).requiringGrad(), b = Fixtures.normal([37], seed: 902).requiringGrad()
        let beta = Tensor(Float(1.7)).requiringGrad()
        let g = Fixtures.normal([37], seed: 903)
        let fused = scaledSumSoftplus(a, b, scale: c.scale, beta: beta, centered: c.centered)
        let plain = Self.composed(a, b, scale: c.scale, beta: beta, centered: c.centered)
        let gf = gradients(of: (fused * g).sum(), wrt: [a, b, beta])
        let gp = gradients(of: (plain * g).sum(), wrt: [a, b, beta])
        if c.scale == 0.5 || c.scale == 1 {
            let same = fused.scalars == plain.scalars && zip(gf, gp).allSatisfy { $0.scalars == $1.scalars }
            #expect(same, "scale \(c.scale), centered \(c.centered)")
        } else {
            expectClose(fused.scalars, plain.scalars, rtol: 1e-6, atol: 1e-7, "value")
            for (i, name) in ["a", "b", "β"].enumerated() {
                expectClose(gf[i].scalars, gp[i].scalars, rtol: 1e-5, atol: 1e-6, "gradient of \(name)")
            }
        }
    }

    @Test("a constant β gets no gradient; large tensors split among threads give the composition's values")
    func constantBetaAndLargeTensors() {
        let a = Fixtures.normal([3, 64, 33], seed: 911).requiringGrad(), b = Fixtures.normal([3, 64, 33], seed: 912)
        let beta = Tensor(Float(1000))
        let fused = scaledSumSoftplus(a, b, scale: 0.5, beta: beta, centered: false)
        let plain = Self.composed(a, b, scale: 0.5, beta: beta, centered: false)
        let ga = gradients(of: fused.sum(), wrt: [a])[0], gp = gradients(of: plain.sum(), wrt: [a])[0]
        let same = fused.scalars == plain.scalars && ga.scalars == gp.scalars
        #expect(same)
    }
}
