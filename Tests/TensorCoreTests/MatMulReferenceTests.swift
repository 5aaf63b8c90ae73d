import Testing
import TensorCore
import _TestSupport

/// matmul against a Double reference at sizes that are not multiples of any tile, including one
/// large enough (2·m·n·k ≥ 4·10⁶) for the kernel to split the work across threads.
@Suite("MatMul reference")
struct MatMulReferenceTests {
    /// op(A)·op(B) in Double from the stored operands, with Σ|a·b| per element.
    static func reference(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> (values: [Double], scale: [Double]) {
        var out = [Double](repeating: 0, count: m * n), scale = out
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, t = 0.0
                for p in 0..<k {
                    let x = Double(ta ? a[p * m + i] : a[i * k + p]), y = Double(tb ? b[j * k + p] : b[p * n + j])
                    s += x * y
                    t += Swift.abs(x * y)
                }
                out[i * n + j] = s
                scale[i * n + j] = t
            }
        }
        return (out, scale)
    }

    static func expectMatches(_ c: Tensor, _ ref: (values: [Double], scale: [Double]), sourceLocation: SourceLocation = #_sourceLocation) {
        let got = c.scalars
        var worst = 0.0
        for i in got.indices {
            let d = Swift.abs(Double(got[i]) - ref.values[i]) / (ref.scale[i] + 1e-6)
            worst = d.isNaN ? .infinity : Swift.max(worst, d)   // `max` alone would drop a NaN
        }
        #expect(worst <= 1e-5, "max |C − reference| / Σ|a·b| = \(worst)", sourceLocation: sourceLocation)
    }

    @Test("2-D, odd sizes, every transpose combination",
          arguments: [(1, 1, 1), (5, 7, 3), (17, 9, 33), (37, 45, 70)] as [(Int, Int, Int)], [(false, false), (true, false), (false, true), (true, true)])
    func odd(_ size: (Int, Int, Int), _ flags: (Bool, Bool)) {
        let (m, n, k) = size, (ta, tb) = flags
        let a = Fixtures.normal(ta ? [k, m] : [m, k], seed: 221), b = Fixtures.normal(tb ? [n, k] : [k, n], seed: 222)
        let c = matmul(a, b, transposeA: ta, transposeB: tb)
        #expect(c.shape == [m, n])
        Self.expectMatches(c, Self.reference(a.scalars, b.scalars, m: m, n: n, k: k, ta: ta, tb: tb))
    }

    @Test("2-D, large enough to be threaded", arguments: [(false, false), (true, true)])
    func large(_ ta: Bool, _ tb: Bool) {
        let (m, n, k) = (131, 129, 127)
        let a = Fixtures.normal(ta ? [k, m] : [m, k], seed: 223), b = Fixtures.normal(tb ? [n, k] : [k, n], seed: 224)
        Self.expectMatches(matmul(a, b, transposeA: ta, transposeB: tb),
                           Self.reference(a.scalars, b.scalars, m: m, n: n, k: k, ta: ta, tb: tb))
    }

    @Test("batched 3-D and 3-D × 2-D: each batch entry equals its own 2-D product", arguments: [false, true])
    func batched(_ tb: Bool) {
        let (batch, m, n, k) = (5, 13, 11, 19)
        let a = Fixtures.normal([batch, m, k], seed: 225)
        let b = Fixtures.normal(tb ? [batch, n, k] : [batch, k, n], seed: 226)
        let c = matmul(a, b, transposeB: tb)
        #expect(c.shape == [batch, m, n])
        let shared = Fixtures.normal(tb ? [n, k] : [k, n], seed: 227)
        let d = matmul(a, shared, transposeB: tb)
        #expect(d.shape == [batch, m, n])
        for q in 0..<batch {
            let aq = a.sliced(axis: 0, q..<(q + 1)).reshaped(to: [m, k]).scalars
            let bq = b.sliced(axis: 0, q..<(q + 1)).reshaped(to: tb ? [n, k] : [k, n]).scalars
            Self.expectMatches(c.sliced(axis: 0, q..<(q + 1)), Self.reference(aq, bq, m: m, n: n, k: k, ta: false, tb: tb))
            Self.expectMatches(d.sliced(axis: 0, q..<(q + 1)), Self.reference(aq, shared.scalars, m: m, n: n, k: k, ta: false, tb: tb))
        }
    }

    @Test("empty inner dimension gives zeros")
    func emptyInner() {
        let c = matmul(Tensor.zeros([3, 0]), Tensor.zeros([0, 2]))
        #expect(c.shape == [3, 2] && c.scalars == [0, 0, 0, 0, 0, 0])
    }
}
