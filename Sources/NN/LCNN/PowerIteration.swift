import TensorCore

/// Helpers for power iteration on linear operators (Miyato et al. 2018; Ryu et al. 2019).
enum PowerIteration {
    /// `v / max(‖v‖, ε)`, not recorded.
    static func normalized(_ v: Tensor, epsilon: Float = 1e-12) -> Tensor {
        withoutGrad {
            let n = v.norm().item
            return v / max(n, epsilon)
        }
    }

    /// `count` steps of power iteration for the top singular pair of a linear operator A, updating
    /// the estimates in place: `v ← Aᵀu/‖Aᵀu‖`, then `u ← Av/‖Av‖` (not recorded).
    static func iterate(_ count: Int, u: Tensor, v: Tensor, apply: (Tensor) -> Tensor, adjoint: (Tensor) -> Tensor) {
        withoutGrad {
            for _ in 0..<count {
                v.assign(normalized(adjoint(u)))
                u.assign(normalized(apply(v)))
            }
        }
    }
}
