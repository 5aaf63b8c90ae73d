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
}
