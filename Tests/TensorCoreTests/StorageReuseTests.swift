import Testing
import TensorCore
import _TestSupport

/// Large buffers (≥ 65 536 floats) are recycled (`StoragePool`, and glibc malloc) without being cleared, so
/// every operation that writes into uninitialised storage must overwrite all of it, and
/// accumulating kernels must zero their output first (GEMM with β = 0 must not read C:
/// 0 · NaN is NaN). Each case first returns NaN-filled buffers of exactly the output's size to
/// the pool, so that the operation is handed one of them.
@Suite("Recycled storage")
struct StorageReuseTests {
    /// Creates and drops a few NaN-filled tensors of `count` elements (they go back to the pool).
    static func poison(_ count: Int) {
        for _ in 0..<3 {
            let t = Tensor.full([count], .nan)
            #expect(t.count == count)
        }
    }

    @Test("matmul, conv2d, convTranspose2d, conv2dWeightGradient and pooling ignore stale buffer contents")
    func kernelsOverwriteRecycledBuffers() {
        // matmul [256, 4] · [4, 256] → 65 536 outputs.
        let a = Fixtures.normal([256, 4], seed: 211), b = Fixtures.normal([4, 256], seed: 212)
        Self.poison(256 * 256)
        let c = matmul(a, b)
        #expect(c.isFinite)
        // Spot-check one element against a direct sum.
        let (i, j) = (37, 201)
        let direct = (0..<4).reduce(Float(0)) { $0 + a[i, $1] * b[$1, j] }
        #expect(Swift.abs(c[i, j] - direct) <= 1e-5 * (1 + Swift.abs(direct)))

        // conv2d with a 1×1 kernel: [1, 1, 256, 256] → [1, 1, 256, 256].
        let x = Fixtures.normal([1, 1, 256, 256], seed: 213)
        let w = Tensor([2], shape: [1, 1, 1, 1])
        Self.poison(256 * 256)
        let y = conv2d(x, weight: w)
        #expect(y.scalars == x.scalars.map { 2 * $0 })

        // convTranspose2d, the same geometry.
        Self.poison(256 * 256)
        let z = convTranspose2d(x, weight: w)
        #expect(z.scalars == x.scalars.map { 2 * $0 })

        // conv2dWeightGradient with a [256, 256, 1, 1] result.
        let xin = Fixtures.normal([1, 256, 1, 1], seed: 214), gout = Fixtures.normal([1, 256, 1, 1], seed: 215)
        Self.poison(256 * 256)
        let gw = conv2dWeightGradient(input: xin, gradOutput: gout, kernelSize: (1, 1))
        #expect(gw.isFinite)
        #expect(gw[5, 9, 0, 0] == gout.scalars[5] * xin.scalars[9])

        // Input gradient of a strided conv: positions no window touches must be exactly 0.
        let xs = Fixtures.normal([1, 1, 257, 257], seed: 216).requiringGrad()
        let ws = Tensor([1], shape: [1, 1, 1, 1])
        Self.poison(257 * 257)
        let gx = gradients(of: conv2d(xs, weight: ws, stride: 2).sum(), wrt: [xs])[0]
        #expect(gx.isFinite)
        #expect(gx[0, 0, 1, 1] == 0 && gx[0, 0, 2, 2] == 1)

        // Pooling and its adjoint.
        let p = Fixtures.normal([1, 4, 128, 128], seed: 217).requiringGrad()
        Self.poison(4 * 128 * 128)
        let pg = gradients(of: p.avgPool2d(kernelSize: 2).sum(), wrt: [p])[0]
        #expect(pg.isFinite)
        Self.poison(4 * 128 * 128)
        let mg = gradients(of: p.maxPool2d(kernelSize: 2).sum(), wrt: [p])[0]
        #expect(mg.isFinite)
        #expect(mg.sum().item == Float(4 * 64 * 64))
    }

    @Test("elementwise, reduction and shape ops ignore stale buffer contents")
    func otherOpsOverwriteRecycledBuffers() {
        let n = 70_000
        let x = Fixtures.normal([n], seed: 218)
        Self.poison(n)
        #expect((x + Tensor(1)).isFinite)
        Self.poison(n)
        #expect(softplus(x, beta: 3).isFinite)
        Self.poison(n)
        #expect(exp(x * 0.1).isFinite)
        let m = x.reshaped(to: [700, 100])
        Self.poison(n)
        #expect(m.transposed().isFinite)
        Self.poison(n)
        #expect(Tensor([1, 2]).expanded(to: [n / 2, 2]).isFinite)
        Self.poison(n)
        #expect(concatenate([m.sliced(axis: 0, 0..<300), m.sliced(axis: 0, 300..<700)]).scalars == m.scalars)
        let big = Fixtures.normal([2, n], seed: 219)
        Self.poison(n)
        #expect(big.sum(axes: [0]).isFinite)
        Self.poison(n)
        #expect(big.maxValues(axes: [0]).isFinite)
    }
}
