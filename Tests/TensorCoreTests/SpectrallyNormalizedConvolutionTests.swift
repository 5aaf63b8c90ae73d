import Testing
import TensorCore
import _TestSupport

/// `spectrallyNormalizedConv2d(x, weight: W, u:, v:)` = conv(x; W/⟨u, conv(v; W)⟩): gradient checks
/// (first order: the rule that adds σ̂'s gradient into the weight gradient without storing it, with
/// ⟨g, W⟩ read over the weight, and over the output with v as one more image of the weight
/// gradient; second order: the recorded composition) and
/// agreement with `conv2d(x, weight: dividedByInnerProduct(W, with: M))`.
@Suite("spectrallyNormalizedConv2d")
struct SpectrallyNormalizedConvolutionTests {
    /// A power-iteration pair for `weight` on `size`×`size` images: v random, u = conv(v; W) plus
    /// noise, so σ̂ = ⟨u, conv(v; W)⟩ stays well away from 0 while M is not parallel to W.
    static func pair(weight: Tensor, size: Int, seed: UInt64, stride: Int = 1, padding: Int = 1) -> (u: Tensor, v: Tensor) {
        let v = Fixtures.normal([1, weight.shape[1], size, size], seed: seed)
        let image = withoutGrad { conv2d(v, weight: weight, stride: stride, padding: padding) }
        let u = withoutGrad { image + Fixtures.normal(image.shape, seed: seed + 1, std: 0.5) }
        return (u, v)
    }

    /// (input shape, weight shape, stride, padding): ⟨g, W⟩ over W (the output is larger) and over
    /// the output (the weight is larger), the second strided.
    static let shapes: [([Int], [Int], Int, Int)] = [
        ([2, 2, 5, 5], [3, 2, 3, 3], 1, 1),
        ([1, 4, 4, 4], [5, 4, 3, 3], 2, 1),
    ]

    @Test("gradient check, first and second order", arguments: shapes)
    func gradCheck(_ shapes: ([Int], [Int], Int, Int)) {
        let (xShape, wShape, stride, padding) = shapes
        let x = Fixtures.normal(xShape, seed: 401)
        let w = Fixtures.normal(wShape, seed: 402, std: 0.5)
        let pair = Self.pair(weight: w, size: xShape[2], seed: 403, stride: stride, padding: padding)
        let m = withoutGrad { conv2dWeightGradient(input: pair.v, gradOutput: pair.u, kernelSize: (wShape[2], wShape[3]),
                                                   stride: stride, padding: padding) }
        for given in [nil, m] {
            expectGradCheck([x, w], given == nil ? "M made in the backward pass" : "M given") { a in
                tanh(spectrallyNormalizedConv2d(a[0], weight: a[1], u: pair.u, v: pair.v, sigmaGradient: given,
                                                stride: stride, padding: padding) * 2)
            }
        }
    }

    @Test("matches the composition with M in value and gradients",
          arguments: [([4, 8, 6, 6], [16, 8, 3, 3], 1, 1), ([2, 24, 4, 4], [40, 24, 3, 3], 1, 1),
                      ([2, 12, 8, 8], [20, 12, 3, 3], 2, 1), ([3, 16, 5, 5], [8, 16, 1, 1], 1, 0),
                      // v as the 32nd image of a Winograd weight gradient (128 tiles of 2×2).
                      ([31, 64, 4, 4], [64, 64, 3, 3], 1, 1)])
    func matchesComposition(_ shapes: ([Int], [Int], Int, Int)) {
        let (xShape, wShape, stride, padding) = shapes
        let x = Fixtures.normal(xShape, seed: 411).requiringGrad()
        let w = Fixtures.normal(wShape, seed: 412, std: 0.3).requiringGrad()
        let pair = Self.pair(weight: w.detached(), size: xShape[2], seed: 413, stride: stride, padding: padding)
        let m = withoutGrad { conv2dWeightGradient(input: pair.v, gradOutput: pair.u, kernelSize: (wShape[2], wShape[3]),
                                                   stride: stride, padding: padding) }
        let fused = spectrallyNormalizedConv2d(x, weight: w, u: pair.u, v: pair.v, stride: stride, padding: padding)
        let plain = conv2d(x, weight: dividedByInnerProduct(w, with: m), stride: stride, padding: padding)
        expectClose(fused.scalars, plain.scalars, rtol: 1e-4, atol: 1e-5, "value")
        let seed = Fixtures.normal(plain.shape, seed: 414)
        let gf = gradients(of: fused, wrt: [x, w], seed: seed)
        let gp = gradients(of: plain, wrt: [x, w], seed: seed)
        // M handed over (as a power iteration run ahead keeps it for small weights): the backward
        // combines it with g instead of adding the single-image weight gradient.
        let given = spectrallyNormalizedConv2d(x, weight: w, u: pair.u, v: pair.v, sigmaGradient: m, stride: stride,
                                               padding: padding)
        let gg = gradients(of: given, wrt: [x, w], seed: seed)
        for (i, name) in ["x", "W"].enumerated() {
            let scale = gp[i].scalars.reduce(Float(0)) { max($0, abs($1)) }
            expectClose(gf[i].scalars, gp[i].scalars, rtol: 1e-3, atol: 1e-4 * scale, "gradient of \(name)")
            expectClose(gg[i].scalars, gp[i].scalars, rtol: 1e-3, atol: 1e-4 * scale, "gradient of \(name), M given")
        }
    }

    @Test("u and v are copied: updating them after the forward pass leaves the gradient unchanged")
    func pairIsCopied() {
        let x = Fixtures.normal([2, 3, 4, 4], seed: 421)
        let w = Fixtures.normal([4, 3, 3, 3], seed: 422, std: 0.5).requiringGrad()
        let pair = Self.pair(weight: w.detached(), size: 4, seed: 423)
        let (u, v) = (pair.u.copy(), pair.v.copy())
        let reference = gradients(of: spectrallyNormalizedConv2d(x, weight: w, u: u, v: v, padding: 1).sum(), wrt: [w])[0]
        let y = spectrallyNormalizedConv2d(x, weight: w, u: u, v: v, padding: 1).sum()
        u.assign(Fixtures.normal(u.shape, seed: 424))
        v.assign(Fixtures.normal(v.shape, seed: 425))
        expectClose(gradients(of: y, wrt: [w])[0].scalars, reference.scalars, rtol: 1e-6, atol: 1e-7, "gradient")
    }

    @Test("σ̂ handed over is what it divides by")
    func knownSigmaIsUsed() {
        let x = Fixtures.normal([1, 2, 4, 4], seed: 431)
        let w = Fixtures.normal([3, 2, 3, 3], seed: 432, std: 0.5)
        let pair = Self.pair(weight: w, size: 4, seed: 433)
        let computed = spectrallyNormalizedConv2d(x, weight: w, u: pair.u, v: pair.v, padding: 1)
        let sigma = withoutGrad { (pair.u * conv2d(pair.v, weight: w, padding: 1)).sum() }.item
        let halved = spectrallyNormalizedConv2d(x, weight: w, u: pair.u, v: pair.v, sigma: 2 * sigma, padding: 1)
        expectClose(halved.scalars, (computed * 0.5).scalars, rtol: 1e-5, atol: 1e-7, "conv(x; W/(2σ̂))")
    }
}
