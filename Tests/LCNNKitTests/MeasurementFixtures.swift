import Foundation
import NN
import TensorCore
@testable import LCNNKit

/// Helpers of the measurement tests: exact Hessians built from HVPs, a Jacobi eigen-solver in
/// Double, and small models with known or smooth input Hessians.
enum MeasurementFixtures {
    /// Sample `i`'s full input Hessian (d×d, Double), one column per HVP along a unit vector.
    static func fullHessian(_ h: InputHessian, sample i: Int) -> [[Double]] {
        let d = h.sampleSize
        var columns: [[Double]] = []
        for j in 0..<d {
            var e = [Float](repeating: 0, count: h.input.count)
            e[i * d + j] = 1
            let hv = h.hvp(Tensor(e, shape: h.input.shape)).scalars
            columns.append((0..<d).map { Double(hv[i * d + $0]) })
        }
        // H[r][c] = column c, row r; symmetrise the float round-off.
        return (0..<d).map { r in (0..<d).map { c in (columns[c][r] + columns[r][c]) / 2 } }
    }

    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Double).
    static func jacobiEigenvalues(_ matrix: [[Double]]) -> [Double] {
        var a = matrix
        let n = a.count
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in 0..<n where p != q { off += a[p][q] * a[p][q] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p][q]) > 1e-300 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0][$0] }
    }

    /// The eigenvalue of largest magnitude.
    static func dominantEigenvalue(_ matrix: [[Double]]) -> Double {
        jacobiEigenvalues(matrix).max { abs($0) < abs($1) }!
    }

    static func frobeniusNorm(_ matrix: [[Double]]) -> Double {
        matrix.reduce(0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }.squareRoot()
    }

    /// A smooth MLP (softplus β = 2) on `features`-dimensional inputs.
    static func mlp(features: Int, classes: Int = 3, seed: UInt64 = 3, batchNorm: Bool = false) -> any Layer {
        ModelConfig(architecture: .mlp, softplusBeta: 2, inputShape: [features], classes: classes,
                    hiddenWidths: [16, 16], batchNorm: batchNorm, seed: seed).makeModel()
    }

    /// Per-sample quadratic `ℓ(x) = ½ xᵀA x + bᵀx` (A symmetric d×d, b length d), summed over the batch.
    static func quadraticLoss(a: [[Float]], b: [Float]) -> BatchLoss {
        let d = b.count
        let at = Tensor(a.flatMap { $0 }, shape: [d, d]), bt = Tensor(b, shape: [1, d])
        return { x in
            let flat = x.reshaped(to: [x.shape[0], d])
            return (matmul(flat, at) * flat * 0.5 + flat * bt).sum()
        }
    }

    /// `Q diag(λ) Qᵀ` for a fixed rotation Q (Householder reflection of a seeded vector).
    static func symmetric(eigenvalues: [Float], seed: UInt64) -> [[Float]] {
        let d = eigenvalues.count
        var g = SeededGenerator(seed: seed)
        let v = (0..<d).map { _ in Double(g.nextNormal()) }
        let vv = v.reduce(0) { $0 + $1 * $1 }
        let q = (0..<d).map { r in (0..<d).map { c in (r == c ? 1 : 0) - 2 * v[r] * v[c] / vv } }
        return (0..<d).map { r in
            (0..<d).map { c in Float((0..<d).reduce(0.0) { $0 + q[r][$1] * Double(eigenvalues[$1]) * q[c][$1] }) }
        }
    }
}

/// A tiny convolutional net on 1×6×6 inputs: conv 3×3 (1→3) → softplus β=2 → linear (48→3).
final class TinyConvNet: Layer {
    let conv: Conv2d
    let fc: Linear
    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        conv = Conv2d(inChannels: 1, outChannels: 3, kernelSize: 3, generator: &g)
        fc = Linear(inFeatures: 48, outFeatures: 3, generator: &g)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { fc(softplus(conv(x), beta: 2).flattened()) }
    func visit(_ v: inout TensorVisitor) { v.child("conv", conv); v.child("fc", fc) }
}

/// Two-class linear logits `W x` (no bias), for the closed-form test.
final class LinearLogits: Layer {
    let weight: Tensor
    init(_ w: [[Float]]) { weight = Tensor(w.flatMap { $0 }, shape: [w.count, w[0].count]).requiringGrad() }
    func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: nil) }
    func visit(_ v: inout TensorVisitor) { v.parameter("weight", weight) }
}
