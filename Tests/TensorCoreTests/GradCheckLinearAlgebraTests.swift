import Testing
import TensorCore
import _TestSupport

/// Gradient checks of matmul: all four transpose combinations, batched 3-D, and 3-D × 2-D.
@Suite("Gradient checks: matmul")
struct GradCheckLinearAlgebraTests {
    @Test("2-D, every transpose combination", arguments: [false, true], [false, true])
    func matmul2D(_ ta: Bool, _ tb: Bool) {
        let (m, k, n) = (3, 4, 2)
        let a = Fixtures.normal(ta ? [k, m] : [m, k], seed: 101)
        let b = Fixtures.normal(tb ? [n, k] : [k, n], seed: 102)
        expectGradCheck([a, b], "ta=\(ta) tb=\(tb)") { x in
            let y = matmul(x[0], x[1], transposeA: ta, transposeB: tb)
            #expect(y.shape == [m, n])
            return y
        }
        // A nonlinear wrapper makes the second-order check depend on the values, not only on the
        // bilinear structure.
        expectGradCheck([a, b], "tanh ta=\(ta) tb=\(tb)") { x in tanh(matmul(x[0], x[1], transposeA: ta, transposeB: tb)) }
    }

    @Test("batched 3-D, every transpose combination", arguments: [false, true], [false, true])
    func matmulBatched(_ ta: Bool, _ tb: Bool) {
        let (batch, m, k, n) = (2, 3, 4, 2)
        let a = Fixtures.normal(ta ? [batch, k, m] : [batch, m, k], seed: 103)
        let b = Fixtures.normal(tb ? [batch, n, k] : [batch, k, n], seed: 104)
        expectGradCheck([a, b], "ta=\(ta) tb=\(tb)") { x in
            let y = matmul(x[0], x[1], transposeA: ta, transposeB: tb)
            #expect(y.shape == [batch, m, n])
            return tanh(y)
        }
    }

    @Test("3-D × 2-D", arguments: [false, true])
    func matmul3Dx2D(_ tb: Bool) {
        let a = Fixtures.normal([2, 3, 4], seed: 105)
        let b = Fixtures.normal(tb ? [5, 4] : [4, 5], seed: 106)
        expectGradCheck([a, b], "tb=\(tb)") { x in
            let y = matmul(x[0], x[1], transposeB: tb)
            #expect(y.shape == [2, 3, 5])
            return tanh(y)
        }
    }

    @Test("linear layer: x·W + b with broadcast bias")
    func linearLayer() {
        let x = Fixtures.normal([3, 4], seed: 107), w = Fixtures.normal([4, 2], seed: 108), b = Fixtures.normal([2], seed: 109)
        expectGradCheck([x, w, b]) { v in softplus(matmul(v[0], v[1]) + v[2], beta: 2) }
    }

    @Test("matmul of a tensor with itself (fan-in through both operands)")
    func gramMatrix() {
        let a = Fixtures.normal([3, 4], seed: 110)
        expectGradCheck([a]) { x in matmul(x[0], x[0], transposeB: true) }
        expectGradCheck([a]) { x in matmul(x[0], x[0], transposeA: true) }
    }
}
