import Foundation
import Testing
@testable import TensorKernels

/// Naive Double reference of one power-iteration step: v ← Wᵀu/max(‖Wᵀu‖, ε), u ← Wv/max(‖Wv‖, ε),
/// σ̂ = uᵀWv.
private func referenceStep(_ w: [Float], rows: Int, cols: Int, u: [Float], v: [Float], epsilon: Double = 1e-12)
    -> (u: [Double], v: [Double], sigma: Double) {
    let wd = w.map(Double.init), ud = u.map(Double.init)
    var nv = [Double](repeating: 0, count: cols)
    for r in 0..<rows { for c in 0..<cols { nv[c] += wd[r * cols + c] * ud[r] } }
    let vn = max(nv.reduce(0) { $0 + $1 * $1 }.squareRoot(), epsilon)
    nv = nv.map { $0 / vn }
    var nu = [Double](repeating: 0, count: rows)
    for r in 0..<rows { for c in 0..<cols { nu[r] += wd[r * cols + c] * nv[c] } }
    let wv = nu
    let un = max(nu.reduce(0) { $0 + $1 * $1 }.squareRoot(), epsilon)
    nu = nu.map { $0 / un }
    let sigma = zip(nu, wv).reduce(0) { $0 + $1.0 * $1.1 }
    return (nu, nv, sigma)
}

private func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
}

@Suite("Power-iteration kernel")
struct PowerIterationKernelTests {
    /// Includes widths below, at and above 16 and 32, 1×N and N×1, and sizes above the
    /// parallel threshold (both the column-chunked Wᵀu and the row-split Wv).
    static let shapes: [(Int, Int)] = [
        (1, 1), (1, 7), (1, 16), (1, 100), (9, 1), (64, 1), (3, 4), (5, 17), (16, 16), (17, 33),
        (64, 2), (2, 64), (64, 64), (31, 47), (128, 300), (600, 513), (128, 9216), (9216, 40),
    ]

    @Test("one step matches a naive Double reference (u, v, σ̂)", arguments: 0..<shapes.count)
    func matchesReference(_ index: Int) {
        let (rows, cols) = Self.shapes[index]
        var rng = TestRNG(UInt64(1000 + index))
        let w = rng.array(rows * cols)
        var u = rng.array(rows), v = rng.array(cols)
        let want = referenceStep(w, rows: rows, cols: cols, u: u, v: v)
        let sigma = w.withUnsafeBufferPointer { wb in
            u.withUnsafeMutableBufferPointer { ub in
                v.withUnsafeMutableBufferPointer { vb in
                    powerIterationStep(weight: wb, rows: rows, cols: cols, u: ub, v: vb)
                }
            }
        }
        let tol = 2e-5
        #expect(maxAbsDiff(v, want.v) < tol, "v \(rows)×\(cols)")
        #expect(maxAbsDiff(u, want.u) < tol, "u \(rows)×\(cols)")
        #expect(abs(Double(sigma) - want.sigma) <= 1e-5 * abs(want.sigma) + 1e-6, "σ̂ \(sigma) vs \(want.sigma)")
        let bilinear = w.withUnsafeBufferPointer { wb in
            u.withUnsafeBufferPointer { ub in v.withUnsafeBufferPointer { vb in
                bilinearForm(weight: wb, rows: rows, cols: cols, u: ub, v: vb)
            } }
        }
        #expect(abs(Double(bilinear) - want.sigma) <= 1e-5 * abs(want.sigma) + 1e-6, "uᵀWv \(bilinear) vs \(want.sigma)")
    }

    @Test("a zero matrix is guarded by ε: u and v become zero, σ̂ = 0, no NaN")
    func zeroMatrix() {
        let w = [Float](repeating: 0, count: 12)
        var u: [Float] = [1, 0, 0], v: [Float] = [0.5, 0.5, 0.5, 0.5]
        let sigma = w.withUnsafeBufferPointer { wb in
            u.withUnsafeMutableBufferPointer { ub in
                v.withUnsafeMutableBufferPointer { vb in powerIterationStep(weight: wb, rows: 3, cols: 4, u: ub, v: vb) }
            }
        }
        #expect(sigma == 0 && u == [0, 0, 0] && v == [0, 0, 0, 0])
    }

    @Test("repeated steps converge to the largest singular value of a known matrix")
    func converges() {
        // diag(3, 2, 1) padded to 3×20 after a column permutation: σ_max = 3.
        var w = [Float](repeating: 0, count: 60)
        w[0 * 20 + 17] = 3; w[1 * 20 + 4] = 2; w[2 * 20 + 9] = 1
        var u: [Float] = [0.6, 0.7, 0.4], v = [Float](repeating: 0.2, count: 20)
        var sigma: Float = 0
        for _ in 0..<60 {
            sigma = w.withUnsafeBufferPointer { wb in
                u.withUnsafeMutableBufferPointer { ub in
                    v.withUnsafeMutableBufferPointer { vb in powerIterationStep(weight: wb, rows: 3, cols: 20, u: ub, v: vb) }
                }
            }
        }
        #expect(abs(sigma - 3) < 1e-5)
        #expect(abs(abs(v[17]) - 1) < 1e-5 && abs(abs(u[0]) - 1) < 1e-5)
    }

    @Test("normalize(_:into:) divides by the norm: lengths around the SIMD width and the 1024-element block, in place and copied, and the ε floor",
          arguments: [1, 15, 16, 17, 1023, 1024, 1025, 5000])
    func normalizeVector(_ count: Int) {
        var rng = SystemRandomNumberGenerator()
        let x = (0..<count).map { _ in Float.random(in: -2...2, using: &rng) }
        let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        var copied = [Float](repeating: .nan, count: count)
        let reported = normalize(x, into: &copied, count: count, epsilon: 1e-12)
        #expect(abs(reported - norm) <= 1e-6 * norm)
        #expect(maxAbsDiff(copied, x.map { Double($0) / norm }) < 1e-6)
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { b in _ = normalize(b.baseAddress!, into: b.baseAddress!, count: count, epsilon: 1e-12) }
        #expect(inPlace == copied)
        // Below ε the vector is divided by ε, not by its norm.
        var tiny = [Float](repeating: 1e-9, count: count)
        let small = [Float](repeating: 1e-9, count: count)
        _ = normalize(small, into: &tiny, count: count, epsilon: 1)
        #expect(tiny == small)
    }
}
