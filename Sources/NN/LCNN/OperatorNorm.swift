import TensorCore

/// Largest singular values of linear layers by power iteration run to convergence, for the
/// curvature bound and for checks of spectral normalisation.
public enum OperatorNorm {
    /// ‖W‖₂ of a matrix `[out, in]`.
    public static func matrix(_ w: Tensor, iterations: Int = 200, tolerance: Float = 1e-6, seed: UInt64 = 0) -> Float {
        withoutGrad {
            var g = SeededGenerator(seed: seed)
            var v = PowerIteration.normalized(Tensor.normal([w.shape[1], 1], generator: &g))
            var sigma: Float = 0
            for _ in 0..<iterations {
                let u = matmul(w, v)
                let next = PowerIteration.normalized(matmul(w, u, transposeA: true))
                let s = u.norm().item
                v = next
                if Swift.abs(s - sigma) <= tolerance * s { sigma = s; break }
                sigma = s
            }
            return sigma
        }
    }

    /// Operator norm of `conv2d(·, weight, stride, padding)` on images of shape `inputShape`
    /// (`[1, C, H, W]`), with the convolution and its adjoint.
    public static func convolution(_ weight: Tensor, inputShape: [Int], stride: Int, padding: Int,
                                   iterations: Int = 200, tolerance: Float = 1e-6, seed: UInt64 = 0) -> Float {
        withoutGrad {
            var g = SeededGenerator(seed: seed)
            var v = PowerIteration.normalized(Tensor.normal(inputShape, generator: &g))
            var sigma: Float = 0
            for _ in 0..<iterations {
                let u = conv2d(v, weight: weight, stride: stride, padding: padding)
                let s = u.norm().item
                v = PowerIteration.normalized(conv2dAdjoint(u, weight: weight, inputShape: inputShape, stride: stride, padding: padding))
                if Swift.abs(s - sigma) <= tolerance * s { sigma = s; break }
                sigma = s
            }
            return sigma
        }
    }
}
