import TensorKernels

/// Matrix products on the packed SIMD GEMM kernel.
///
/// The primitive takes transpose flags so that every backward rule is again a product,
/// without materialised transposes:
/// for C = op(A)·op(B), ∂A and ∂B are products of g with A or B under some flags.

extension Tensor {
    /// `op(A)·op(B)` for rank-2 operands, or rank-3 operands with the same batch extent.
    static func matmulPrimitive(_ a: Tensor, _ b: Tensor, transposeA ta: Bool, transposeB tb: Bool) -> Tensor {
        let name = "matmul"
        guard a.rank == b.rank, a.rank == 2 || a.rank == 3 else {
            shapeMismatch(name, a.shape, b.shape, "must both be matrices or both batches of matrices")
        }
        let batched = a.rank == 3
        if batched && a.shape[0] != b.shape[0] { shapeMismatch(name, a.shape, b.shape, "have different batch extents") }
        let r = a.rank
        let m = ta ? a.shape[r - 1] : a.shape[r - 2], ka = ta ? a.shape[r - 2] : a.shape[r - 1]
        let kb = tb ? b.shape[r - 1] : b.shape[r - 2], n = tb ? b.shape[r - 2] : b.shape[r - 1]
        guard ka == kb else {
            shapeMismatch(name, a.shape, b.shape, "have inner dimensions \(ka) and \(kb)" + (ta || tb ? " (transposeA: \(ta), transposeB: \(tb))" : ""))
        }
        let batch = batched ? a.shape[0] : 1
        let out = Tensor(uninitializedShape: batched ? [batch, m, n] : [m, n])
        let lda = a.shape[r - 1], ldb = b.shape[r - 1]
        for i in 0..<batch {
            sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: ka, alpha: 1,
                  a: a.storage.pointer + i * m * ka, lda: lda,
                  b: b.storage.pointer + i * ka * n, ldb: ldb,
                  beta: 0, c: out.storage.pointer + i * m * n, ldc: n)
        }
        return record(out, op: .matmul, inputs: [a, b]) { c in
            let (a, b, g) = (c.inputs[0], c.inputs[1], c.gradOutput)
            var ga: Tensor? = nil, gb: Tensor? = nil
            if c.needsGrad[0] {
                ga = ta ? matmulPrimitive(b, g, transposeA: tb, transposeB: true)
                        : matmulPrimitive(g, b, transposeA: false, transposeB: !tb)
            }
            if c.needsGrad[1] {
                gb = tb ? matmulPrimitive(g, a, transposeA: true, transposeB: ta)
                        : matmulPrimitive(a, g, transposeA: !ta, transposeB: false)
            }
            return [ga, gb]
        }
    }
}

/// Matrix product `op(a)·op(b)`.
///
/// Shapes: `[M,K]·[K,N] → [M,N]`; batched `[B,M,K]·[B,K,N] → [B,M,N]`; and `[B,M,K]·[K,N]`,
/// which multiplies every matrix of the batch by the same right operand.
/// Gradients: for C = A·B, ∂A = g·Bᵀ and ∂B = Aᵀ·g (with the flags folded in).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    if a.rank == 3 && b.rank == 2 && !transposeA {
        let flat = a.reshaped(to: [a.shape[0] * a.shape[1], a.shape[2]])
        let product = Tensor.matmulPrimitive(flat, b, transposeA: false, transposeB: transposeB)
        return product.reshaped(to: [a.shape[0], a.shape[1], product.shape[1]])
    }
    return Tensor.matmulPrimitive(a, b, transposeA: transposeA, transposeB: transposeB)
}
