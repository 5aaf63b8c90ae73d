import Foundation
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

// MARK: Guaranteed upper bounds (for certificates)

extension OperatorNorm {
    /// An upper bound on ‖W‖₂ of a matrix `[out, in]` that holds whatever the spectrum (power
    /// iteration only approaches ‖W‖₂ from below): ‖W‖₂² = λ_max(G) for the smaller Gram matrix
    /// G = W·Wᵀ or Wᵀ·W, computed in Double, bounded by ``symmetricEigenvalueUpperBound(_:size:)``.
    public static func matrixUpperBound(_ w: Tensor) -> Double {
        precondition(w.rank == 2, "OperatorNorm.matrixUpperBound: expected a matrix, got shape \(w.shape)")
        let (rows, cols) = (w.shape[0], w.shape[1])
        let values = w.scalars.map(Double.init)
        let n = Swift.min(rows, cols)
        guard n > 0 else { return 0 }
        var gram = [Double](repeating: 0, count: n * n)
        if rows <= cols {
            for i in 0..<rows {
                for j in i..<rows {
                    var s = 0.0
                    for k in 0..<cols { s += values[i * cols + k] * values[j * cols + k] }
                    gram[i * n + j] = s; gram[j * n + i] = s
                }
            }
        } else {
            for k in 0..<rows {
                for i in 0..<cols {
                    let a = values[k * cols + i]
                    if a == 0 { continue }
                    for j in i..<cols { gram[i * n + j] += a * values[k * cols + j] }
                }
            }
            for i in 0..<n { for j in 0..<i { gram[i * n + j] = gram[j * n + i] } }
        }
        return symmetricEigenvalueUpperBound(gram, size: n).squareRoot()
    }

    /// An upper bound on the operator norm of `conv2d(·, weight, stride)` (any padding, any image
    /// size): each input value enters at most ⌈k_h/s⌉·⌈k_w/s⌉ (output position, kernel offset)
    /// pairs, so stacking the shifted copies the kernel reads has norm ≤ √(⌈k_h/s⌉⌈k_w/s⌉), and
    /// the output is the `[O, C·k_h·k_w]` kernel matrix applied to that stack:
    ///   ‖conv‖₂ ≤ √(⌈k_h/s⌉·⌈k_w/s⌉) · ‖W_mat‖₂.
    /// Looser than the operator's power-iteration estimate (up to 3× for a 3×3 stride-1 kernel)
    /// but guaranteed.
    public static func convolutionUpperBound(_ weight: Tensor, stride: Int) -> Double {
        precondition(weight.rank == 4, "OperatorNorm.convolutionUpperBound: expected [O, C, kh, kw], got \(weight.shape)")
        let (o, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let overlap = Double(((kh + stride - 1) / stride) * ((kw + stride - 1) / stride))
        return overlap.squareRoot() * matrixUpperBound(weight.reshaped(to: [o, c * kh * kw]))
    }

    /// An upper bound on the largest eigenvalue of a symmetric positive semi-definite matrix
    /// `g` (`size × size`, row-major), valid for any spectrum: for m = 2^p,
    ///   λ_max^m ≤ ‖G^m‖_F = (Σᵢ λᵢ^{2m})^{½} ≤ √n·λ_max^m,
    /// so ‖G^m‖_F^{1/m} lies in [λ_max, n^{1/(2m)}·λ_max]. G^m is formed by p = 12 squarings,
    /// each rescaled to unit Frobenius norm (the scale kept in logs): the bound is within a factor
    /// n^{1/8192} of λ_max (1.0008 for n = 512). A relative 10⁻⁹ covers Double rounding.
    public static func symmetricEigenvalueUpperBound(_ g: [Double], size n: Int) -> Double {
        precondition(g.count == n * n, "symmetricEigenvalueUpperBound: \(g.count) values for size \(n)")
        var a = g
        var logScale = 0.0   // log of the factor removed so far, per unit power
        var power = 1.0
        for _ in 0..<12 {
            let frobenius = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard frobenius > 0 && frobenius.isFinite else { return frobenius == 0 ? 0 : .infinity }
            for i in a.indices { a[i] /= frobenius }
            logScale += Foundation.log(frobenius) / power
            var b = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                for k in 0..<n {
                    let x = a[i * n + k]
                    if x == 0 { continue }
                    for j in 0..<n { b[i * n + j] += x * a[k * n + j] }
                }
            }
            a = b
            power *= 2
        }
        let frobenius = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard frobenius > 0 else { return 0 }
        return Foundation.exp(logScale + Foundation.log(frobenius) / power) * (1 + 1e-9)
    }
}
