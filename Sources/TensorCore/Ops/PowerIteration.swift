import TensorKernels

/// Power iteration for the top singular pair (σ₁, u, v) of a linear operator A (Miyato et al.
/// 2018 for matrices; Ryu et al. 2019 for convolutions). One step is
///
///   v ← Aᵀu / max(‖Aᵀu‖, ε),   u ← Av / max(‖Av‖, ε),
///
/// and σ̂ = uᵀAv estimates σ₁ from below. Two paths run this same step, unrecorded, updating
/// `u` and `v` in place:
/// - a matrix `W [rows, cols]`: the raw-buffer kernel `powerIterationStep` (TensorKernels), two
///   memory-bound passes over W (norms in Double);
/// - any operator given by `apply` (A·) and `adjoint` (Aᵀ·) closures, in tensor operations
///   (convolutions at a fixed image size).
/// σ̂ of a matrix, as a recorded function of W, is ``spectralNormSigma(_:u:v:)``.
public enum PowerIteration {
    /// The floor ε of the norms a step divides by.
    public static let epsilon: Float = 1e-12

    /// `v / max(‖v‖, ε)`, not recorded.
    public static func normalized(_ v: Tensor, epsilon: Float = epsilon) -> Tensor {
        withoutGrad {
            let n = v.norm().item
            return v / Swift.max(n, epsilon)
        }
    }

    /// `count` steps for the operator A given by `apply` and `adjoint`, updating the estimates in
    /// place (not recorded): `v ← normalized(Aᵀu)`, then `u ← normalized(Av)`.
    ///
    /// Returns σ̂ = ⟨u, Av⟩ for the updated pair (nil when `count` is 0). The last step's Av is at
    /// hand: with n = ‖Av‖ and u = Av/max(n, ε), ⟨u, Av⟩ = n²/max(n, ε), so a caller that needs
    /// σ̂ of the new estimates gets it without another application of A (or a pass over W).
    @discardableResult
    public static func iterate(_ count: Int, u: Tensor, v: Tensor,
                               apply: (Tensor) -> Tensor, adjoint: (Tensor) -> Tensor) -> Float? {
        withoutGrad {
            var sigma: Float?
            for _ in 0..<count {
                assignNormalized(adjoint(u), to: v)
                let n = assignNormalized(apply(v), to: u)
                sigma = Float(n * n / Swift.max(n, Double(epsilon)))
            }
            return sigma
        }
    }

    /// `target ← x / max(‖x‖, ε)` in place (one kernel, two passes over x); returns ‖x‖.
    private static func assignNormalized(_ x: Tensor, to target: Tensor) -> Double {
        guard x.shape == target.shape else {
            shapeMismatch("PowerIteration", x.shape, target.shape, "differ (operator image, estimate)")
        }
        return normalize(x.storage.pointer, into: target.storage.pointer, count: x.count, epsilon: epsilon)
    }

    /// `count` steps for the matrix `w [rows, cols]` by the raw-buffer kernel, updating `u`
    /// `[rows]` and `v` `[cols]` in place (not recorded; they must not share storage with `w`).
    /// Returns σ̂ = uᵀWv for the updated pair (nil when `count` is 0), from the last step's Wv.
    @discardableResult
    public static func iterate(_ count: Int, matrix w: Tensor, u: Tensor, v: Tensor) -> Float? {
        guard count > 0 else { return nil }
        precondition(w.rank == 2 && u.shape == [w.shape[0]] && v.shape == [w.shape[1]],
                     "PowerIteration: u \(u.shape) and v \(v.shape) do not match the matrix \(w.shape)")
        let (rows, cols) = (w.shape[0], w.shape[1])
        return w.withUnsafeBufferPointer { wb in
            u.withUnsafeMutableBufferPointer { ub in
                v.withUnsafeMutableBufferPointer { vb in
                    var sigma: Float = 0
                    for _ in 0..<count {
                        sigma = powerIterationStep(weight: wb, rows: rows, cols: cols, u: ub, v: vb, epsilon: epsilon)
                    }
                    return sigma
                }
            }
        }
    }
}
