import Testing
import TensorCore
import _TestSupport

/// conv2d against a naive reference, and the adjoint identities that tie conv2d,
/// convTranspose2d and conv2dWeightGradient together.
@Suite("Convolution reference")
struct ConvolutionReferenceTests {
    struct Geometry: Sendable, CustomTestStringConvertible {
        let n, c, h, w, o, kh, kw, stride, padding: Int
        init(n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, kw: Int? = nil, stride: Int, padding: Int) {
            (self.n, self.c, self.h, self.w, self.o, self.kh, self.kw, self.stride, self.padding) =
                (n, c, h, w, o, k, kw ?? k, stride, padding)
        }
        var outH: Int { (h + 2 * padding - kh) / stride + 1 }
        var outW: Int { (w + 2 * padding - kw) / stride + 1 }
        var inputShape: [Int] { [n, c, h, w] }
        var weightShape: [Int] { [o, c, kh, kw] }
        var outputShape: [Int] { [n, o, outH, outW] }
        var testDescription: String { "N\(n) C\(c) \(h)×\(w) O\(o) k\(kh)×\(kw) s\(stride) p\(padding)" }
    }

    static let geometries: [Geometry] = [
        Geometry(n: 2, c: 3, h: 7, w: 7, o: 4, k: 3, stride: 1, padding: 0),
        Geometry(n: 2, c: 3, h: 7, w: 7, o: 4, k: 3, stride: 1, padding: 1),
        Geometry(n: 1, c: 2, h: 8, w: 6, o: 3, k: 3, stride: 2, padding: 1),
        Geometry(n: 3, c: 2, h: 5, w: 9, o: 2, k: 5, stride: 1, padding: 2),
        Geometry(n: 2, c: 4, h: 6, w: 5, o: 3, k: 1, stride: 1, padding: 0),
        Geometry(n: 2, c: 2, h: 6, w: 7, o: 3, k: 1, stride: 2, padding: 0),
        Geometry(n: 2, c: 2, h: 9, w: 7, o: 2, k: 5, stride: 2, padding: 2),
        Geometry(n: 2, c: 3, h: 7, w: 8, o: 2, k: 3, stride: 2, padding: 0),
        Geometry(n: 1, c: 2, h: 6, w: 9, o: 3, k: 3, kw: 2, stride: 2, padding: 1),
        Geometry(n: 2, c: 16, h: 5, w: 5, o: 8, k: 3, stride: 1, padding: 1),
        Geometry(n: 3, c: 8, h: 12, w: 11, o: 16, k: 3, stride: 1, padding: 1),
        Geometry(n: 2, c: 5, h: 16, w: 16, o: 7, k: 3, stride: 2, padding: 1),
    ]

    /// The textbook seven-loop cross-correlation with zero padding, accumulated in Double.
    /// Returns the outputs and Σ|x·w| per output (the scale of the rounding error).
    static func reference(_ g: Geometry, _ x: [Float], _ w: [Float]) -> (values: [Double], scale: [Double]) {
        var out = [Double](repeating: 0, count: g.n * g.o * g.outH * g.outW)
        var scale = out
        for n in 0..<g.n {
            for o in 0..<g.o {
                for oy in 0..<g.outH {
                    for ox in 0..<g.outW {
                        var s = 0.0, a = 0.0
                        for c in 0..<g.c {
                            for ky in 0..<g.kh {
                                for kx in 0..<g.kw {
                                    let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                                    guard iy >= 0, iy < g.h, ix >= 0, ix < g.w else { continue }
                                    let term = Double(x[((n * g.c + c) * g.h + iy) * g.w + ix]) * Double(w[((o * g.c + c) * g.kh + ky) * g.kw + kx])
                                    s += term
                                    a += Swift.abs(term)
                                }
                            }
                        }
                        let index = ((n * g.o + o) * g.outH + oy) * g.outW + ox
                        out[index] = s
                        scale[index] = a
                    }
                }
            }
        }
        return (out, scale)
    }

    @Test("conv2d matches the naive reference", arguments: geometries)
    func conv2dMatchesReference(_ g: Geometry) {
        let x = Fixtures.normal(g.inputShape, seed: 181), w = Fixtures.normal(g.weightShape, seed: 182)
        let y = conv2d(x, weight: w, stride: g.stride, padding: g.padding)
        #expect(y.shape == g.outputShape)
        let (expected, scale) = Self.reference(g, x.scalars, w.scalars)
        let actual = y.scalars
        var worst = 0.0
        for i in expected.indices {
            let d = Swift.abs(Double(actual[i]) - expected[i]) / (scale[i] + 1e-6)
            worst = d.isNaN ? .infinity : Swift.max(worst, d)   // `max` alone would drop a NaN
        }
        #expect(worst <= 1e-5, "max |conv − reference| / Σ|x·w| = \(worst)")
    }

    @Test("conv2d with bias adds the bias per output channel")
    func conv2dBias() {
        let g = Geometry(n: 2, c: 2, h: 5, w: 4, o: 3, k: 3, stride: 1, padding: 1)
        let x = Fixtures.normal(g.inputShape, seed: 183), w = Fixtures.normal(g.weightShape, seed: 184)
        let bias = Tensor([0.5, -1, 2])
        let y = conv2d(x, weight: w, bias: bias, padding: 1).scalars
        let (expected, _) = Self.reference(g, x.scalars, w.scalars)
        let plane = g.outH * g.outW
        let withBias = expected.indices.map { i in Float(expected[i]) + bias.scalars[(i / plane) % g.o] }
        expectClose(y, withBias, rtol: 1e-5, atol: 1e-5)
    }

    @Test("a hand-computed 1×1×3×3 example")
    func handExample() {
        let x = Tensor((1...9).map(Float.init), shape: [1, 1, 3, 3])
        let w = Tensor([1, 0, 0, -1], shape: [1, 1, 2, 2])   // x[i][j] − x[i+1][j+1]
        expectClose(conv2d(x, weight: w), [-4, -4, -4, -4], shape: [1, 1, 2, 2])
        // Padding 1, stride 2: windows at (−1,−1), (−1,1), (1,−1), (1,1).
        expectClose(conv2d(x, weight: w, stride: 2, padding: 1), [-1, -3, -7, 5 - 9], shape: [1, 1, 2, 2])
    }

    /// outputPadding that makes convTranspose2d return exactly the conv's input size.
    static func outputPadding(_ g: Geometry) -> Int { (g.h + 2 * g.padding - g.kh) % g.stride }

    static let adjointGeometries: [Geometry] = [
        Geometry(n: 2, c: 3, h: 6, w: 6, o: 2, k: 3, stride: 1, padding: 0),
        Geometry(n: 2, c: 3, h: 6, w: 5, o: 2, k: 3, stride: 1, padding: 1),
        Geometry(n: 2, c: 2, h: 7, w: 7, o: 3, k: 3, stride: 2, padding: 1),
        Geometry(n: 1, c: 2, h: 8, w: 8, o: 3, k: 3, stride: 2, padding: 1),
        Geometry(n: 2, c: 2, h: 9, w: 9, o: 2, k: 5, stride: 2, padding: 2),
        Geometry(n: 1, c: 3, h: 8, w: 8, o: 2, k: 4, stride: 2, padding: 1),
    ]

    @Test("⟨conv(x, w), y⟩ = ⟨x, convTranspose(y, w)⟩", arguments: adjointGeometries)
    func transposeIsAdjoint(_ g: Geometry) {
        // Square inputs where the stride leaves a remainder need outputPadding on both axes alike.
        let op = Self.outputPadding(g)
        guard op == (g.w + 2 * g.padding - g.kw) % g.stride else { return }
        let x = Fixtures.normal(g.inputShape, seed: 185), w = Fixtures.normal(g.weightShape, seed: 186)
        let y = Fixtures.normal(g.outputShape, seed: 187)
        let cx = conv2d(x, weight: w, stride: g.stride, padding: g.padding)
        let ty = convTranspose2d(y, weight: w, stride: g.stride, padding: g.padding, outputPadding: op)
        #expect(ty.shape == g.inputShape)
        let lhs = dot(cx, y), rhs = dot(x, ty)
        #expect(Swift.abs(lhs - rhs) <= 1e-4 * Swift.max(Swift.abs(lhs), Swift.abs(rhs), 1e-3 * absDot(cx, y)),
                "⟨conv x, y⟩ = \(lhs), ⟨x, convᵀ y⟩ = \(rhs)")
    }

    @Test("⟨conv(x, w), y⟩ = ⟨w, conv2dWeightGradient(x, y)⟩", arguments: adjointGeometries)
    func weightGradientIsAdjoint(_ g: Geometry) {
        let x = Fixtures.normal(g.inputShape, seed: 188), w = Fixtures.normal(g.weightShape, seed: 189)
        let y = Fixtures.normal(g.outputShape, seed: 190)
        let cx = conv2d(x, weight: w, stride: g.stride, padding: g.padding)
        let gw = conv2dWeightGradient(input: x, gradOutput: y, kernelSize: (g.kh, g.kw), stride: g.stride, padding: g.padding)
        #expect(gw.shape == g.weightShape)
        let lhs = dot(cx, y), rhs = dot(w, gw)
        #expect(Swift.abs(lhs - rhs) <= 1e-4 * Swift.max(Swift.abs(lhs), Swift.abs(rhs), 1e-3 * absDot(cx, y)),
                "⟨conv x, y⟩ = \(lhs), ⟨w, ∇w⟩ = \(rhs)")
    }

    @Test("convTranspose2d output size follows (H−1)s − 2p + K + outputPadding")
    func transposeShapes() {
        let w = Fixtures.normal([3, 2, 3, 3], seed: 191)
        #expect(convTranspose2d(Tensor.zeros([1, 3, 4, 5]), weight: w).shape == [1, 2, 6, 7])
        #expect(convTranspose2d(Tensor.zeros([1, 3, 4, 5]), weight: w, stride: 2, padding: 1).shape == [1, 2, 7, 9])
        #expect(convTranspose2d(Tensor.zeros([2, 3, 4, 5]), weight: w, stride: 2, padding: 1, outputPadding: 1).shape == [2, 2, 8, 10])
    }

    @Test("convTranspose2d of a one-hot input places a copy of the kernel")
    func transposeOneHot() {
        var values = [Float](repeating: 0, count: 9)
        values[4] = 1   // centre of a 3×3 input
        let w = Tensor((1...4).map(Float.init), shape: [1, 1, 2, 2])
        let z = convTranspose2d(Tensor(values, shape: [1, 1, 3, 3]), weight: w, stride: 2)
        #expect(z.shape == [1, 1, 6, 6])
        var expected = [Float](repeating: 0, count: 36)
        expected[2 * 6 + 2] = 1; expected[2 * 6 + 3] = 2; expected[3 * 6 + 2] = 3; expected[3 * 6 + 3] = 4
        #expect(z.scalars == expected)
    }
}
