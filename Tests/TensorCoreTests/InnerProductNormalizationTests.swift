import Testing
import TensorCore
import _TestSupport

/// `dividedByInnerProduct(w, with: m)` = w/⟨w, m⟩ with m constant: gradient checks (first and
/// second order) and agreement with the unfused composition `w / (w * m).sum()`.
@Suite("dividedByInnerProduct")
struct InnerProductNormalizationTests {
    /// m near w keeps σ = ⟨w, m⟩ ≈ ‖w‖² well away from 0.
    static func operands(_ shape: [Int], seed: UInt64) -> (Tensor, Tensor) {
        let w = Fixtures.normal(shape, seed: seed)
        let m = (w + Fixtures.normal(shape, seed: seed + 1, std: 0.3)).detached()
        return (w, m)
    }

    @Test("gradient check, first and second order")
    func gradCheck() {
        let (w, m) = Self.operands([2, 3, 2, 2], seed: 301)
        expectGradCheck([w]) { x in tanh(dividedByInnerProduct(x[0], with: m) * 3) }
    }

    @Test("matches w / (w * m).sum() in value and gradient", arguments: [[3, 5], [64, 32, 3, 3], [256, 128, 3, 3]])
    func matchesComposition(_ shape: [Int]) {
        let (w0, m) = Self.operands(shape, seed: 302)
        let w = w0.detached().requiringGrad()
        let seed = Fixtures.normal(shape, seed: 304)
        let fused = dividedByInnerProduct(w, with: m)
        let plain = w / (w * m).sum()
        expectClose(fused.scalars, plain.scalars, rtol: 1e-4, atol: 1e-7, "value")
        let gf = gradients(of: fused, wrt: [w], seed: seed)[0]
        let gp = gradients(of: plain, wrt: [w], seed: seed)[0]
        let scale = gp.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(gf.scalars, gp.scalars, rtol: 1e-3, atol: 1e-4 * scale, "gradient")
        // Given ⟨w, m⟩ (as a power iteration hands it over), the forward skips its dot product
        // and must give the same value and gradient.
        let known = dividedByInnerProduct(w, with: m, innerProduct: withoutGrad { (w * m).sum() }.item)
        expectClose(known.scalars, plain.scalars, rtol: 1e-4, atol: 1e-7, "value, known inner product")
        let gk = gradients(of: known, wrt: [w], seed: seed)[0]
        expectClose(gk.scalars, gp.scalars, rtol: 1e-3, atol: 1e-4 * scale, "gradient, known inner product")
    }

    @Test("the known inner product is what it divides by (twice the value halves the result)")
    func knownInnerProductIsUsed() {
        let (w, m) = Self.operands([4, 3], seed: 305)
        let sigma = withoutGrad { (w * m).sum() }.item
        let half = dividedByInnerProduct(w, with: m, innerProduct: 2 * sigma)
        expectClose(half.scalars, (w / (2 * sigma)).scalars, rtol: 1e-6, atol: 0, "w / (2σ)")
    }
}
