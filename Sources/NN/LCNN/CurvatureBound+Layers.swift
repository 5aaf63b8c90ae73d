import TensorCore

/// Each layer's Lipschitz constant and curvature, for ``CurvatureBound``.

extension Linear: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.scale(by: Double(OperatorNorm.matrix(weight.detached())), upperBound: OperatorNorm.matrixUpperBound(weight.detached()))
    }
}

extension SpectralNormLinear: CurvatureBounded {
    /// ‖W/σ̂‖₂ = ‖W‖₂/σ̂, ≈ 1 once the power iteration has converged.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        let sigma = withoutGrad { spectralNorm() }.item
        bound.scale(by: Double(OperatorNorm.matrix(weight.detached()) / sigma),
                    upperBound: OperatorNorm.matrixUpperBound(weight.detached()) / Double(sigma))
    }
}

extension Conv2d: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        guard let shape = lastInputShape else { fatalError("CurvatureBound: \(path) has not seen an input yet") }
        let one = [1] + shape.dropFirst()
        bound.scale(by: Double(OperatorNorm.convolution(weight.detached(), inputShape: one, stride: stride, padding: padding)),
                    upperBound: OperatorNorm.convolutionUpperBound(weight.detached(), stride: stride))
    }
}

extension SpectralNormConv2d: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        let sigma = withoutGrad { spectralNorm() }.item
        let norm = OperatorNorm.convolution(weight.detached(), inputShape: v.shape, stride: stride, padding: padding)
        bound.scale(by: Double(norm / sigma), upperBound: OperatorNorm.convolutionUpperBound(weight.detached(), stride: stride) / Double(sigma))
    }
}

extension BatchNorm: CurvatureBounded {
    /// In evaluation BN multiplies channel c by w_c/√(var_c + ε): Lipschitz max_c |w_c|/√(var_c + ε).
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        let w = weight?.scalars ?? [Float](repeating: 1, count: features)
        let v = runningVar.scalars
        bound.scale(by: Double(zip(w, v).map { Swift.abs($0) / ($1 + epsilon).squareRoot() }.max() ?? 1))
    }
}

extension LipschitzBatchNorm: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.scale(by: Double(lipschitzConstant))
    }
}

extension Softplus: CurvatureBounded {
    /// Curvature ≤ β (eq. 3), Lipschitz 1; exactly, φ″ = β·σ(βx)(1 − σ(βx)) ≤ β/4.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta), secondDerivative: Double(beta) / 4)
    }
}

extension CenteredSoftplus: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta), secondDerivative: Double(beta) / 4)
    }
}

extension ParametricSwish: CurvatureBounded {
    /// x·σ(βx) has slope at most ≈1.0998 and |second derivative| ≤ β/2 ≤ β; β is used, as for softplus.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta), lipschitz: 1.0998, secondDerivative: Double(beta) / 2)
    }
}

extension ReLU: CurvatureBounded {
    /// The kink at 0 has no finite curvature: the bound is undefined.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addUnboundedNonlinearity(path, width: lastWidth,
                                       reason: "ReLU at \(CurvatureBound.displayPath(path)) has unbounded curvature at 0")
    }
}

// MARK: Pooling
//
// In Theorem 1 / eq. 6 of the paper a linear layer enters only through its Lipschitz constant
// Lipⱼ, a non-linear one through a term nᵢ·Cᵢ·Πⱼ≤ᵢ Lipⱼ. Average pooling is linear; max-pooling is
// non-linear with Cᵢ = +∞.

extension AvgPool2d: CurvatureBounded {
    /// Average pooling is linear (no curvature term). Its Lipschitz constant is the operator norm
    /// on the last input's image size (``AveragePoolingNorm/operatorNorm(kernelSize:stride:padding:height:width:)``),
    /// or the closed-form bound ⌈k/s⌉/k before any input has been seen.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.scale(by: lipschitzConstant)
    }

    /// ‖pool‖₂ on the last input size; ⌈k/s⌉/k (an upper bound for every size) before any input.
    public var lipschitzConstant: Double {
        guard let shape = lastInputShape, shape.count == 4 else {
            return AveragePoolingNorm.upperBound(kernelSize: kernelSize, stride: stride)
        }
        return AveragePoolingNorm.operatorNorm(kernelSize: kernelSize, stride: stride, padding: padding,
                                               height: shape[2], width: shape[3])
    }
}

extension AdaptiveAvgPool2d: CurvatureBounded {
    /// The mean over an H×W plane: by Cauchy–Schwarz |Σ xᵢ/(HW)| ≤ ‖x‖/√(HW), with equality for a
    /// constant plane, so the operator norm is exactly 1/√(H·W) (from the last input's size;
    /// 1, a valid upper bound, before any input has been seen).
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.scale(by: lipschitzConstant)
    }

    /// 1/√(H·W) of the last input; 1 before any input.
    public var lipschitzConstant: Double {
        guard let shape = lastInputShape, shape.count == 4, shape[2] * shape[3] > 0 else { return 1 }
        return 1 / Double(shape[2] * shape[3]).squareRoot()
    }
}

extension MaxPool2d: CurvatureBounded {
    /// Max-pooling is Lipschitz — |max a − max b| ≤ maxᵢ |aᵢ − bᵢ| ≤ ‖a − b‖ per window, and a
    /// pixel lies in at most ⌈k/s⌉² windows, so Lip ≤ ⌈k/s⌉ (1 for non-overlapping windows) — but
    /// where two inputs of a window tie the maximum switches branch: its Hessian is unbounded there
    /// and Theorem 1 gives no finite bound. It adds a term of curvature +∞ (width: the outputs per
    /// sample, `C·H_out·W_out`) and marks the bound undefined.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        var width = 0
        if let shape = lastInputShape, shape.count == 4 {
            width = shape[1] * convOutput(shape[2], kernel: kernelSize, stride: stride, padding: padding)
                             * convOutput(shape[3], kernel: kernelSize, stride: stride, padding: padding)
        }
        let overlap = (kernelSize + stride - 1) / stride
        bound.addUnboundedNonlinearity(path, width: width,
                                       reason: "max-pool at \(CurvatureBound.displayPath(path)) has unbounded curvature at ties",
                                       lipschitz: Double(overlap))
    }
}

/// The operator norm (largest singular value) of 2-D average pooling, used as its Lipschitz
/// constant in the curvature bound.
///
/// Pooling acts on each channel plane separately with the same matrix, and on a plane it is the
/// Kronecker product `A_H ⊗ A_W` of two 1-D averaging operators (`A[o, i] = 1/k` for the k
/// positions `i` of window `o` inside the image; the 2-D divisor k² is (1/k)·(1/k), padding
/// counted), so ‖pool‖₂ = ‖A_H‖₂·‖A_W‖₂.
///
/// Closed-form upper bound (any image size): each output is a mean of k² inputs, so by
/// Cauchy–Schwarz `yₒ² ≤ k²·(1/k²)²·Σ_{i∈window o} xᵢ²`, and each pixel lies in at most ⌈k/s⌉²
/// windows; summing, ‖y‖² ≤ ⌈k/s⌉²·k²·(1/k²)²·‖x‖², i.e. **‖pool‖₂ ≤ ⌈k/s⌉/k**. It is exact
/// for non-overlapping windows (s ≥ k) whenever one full window fits: 1/k, ½ for 2×2/2. With
/// overlap it is loose (3×3/2: ⌈3/2⌉/3 = ⅔, while ‖A‖₂² → 5/9 per axis on large images), so the
/// bound uses the exact norm at the layer's input size, ``operatorNorm(kernelSize:stride:padding:height:width:)``.
public enum AveragePoolingNorm {
    /// ⌈k/s⌉/k: the operator norm's bound for every image size.
    public static func upperBound(kernelSize k: Int, stride s: Int) -> Double {
        Double((k + s - 1) / s) / Double(k)
    }

    /// ‖A_H‖₂·‖A_W‖₂ on `height × width` images, never above ``upperBound(kernelSize:stride:)``.
    public static func operatorNorm(kernelSize: Int, stride: Int, padding: Int, height: Int, width: Int) -> Double {
        let n = axisNorm(kernelSize: kernelSize, stride: stride, padding: padding, size: height)
              * axisNorm(kernelSize: kernelSize, stride: stride, padding: padding, size: width)
        return Swift.min(n, upperBound(kernelSize: kernelSize, stride: stride))
    }

    /// ‖A‖₂ of the 1-D averaging operator on `size` positions: √λ_max(A·Aᵀ), where
    /// (A·Aᵀ)[o, o′] = |window o ∩ window o′ ∩ image|/k² is non-negative and symmetric. Power
    /// iteration from the all-ones vector; the returned value is the Collatz–Wielandt upper
    /// bound maxᵢ (Bv)ᵢ/vᵢ ≥ λ_max (valid for every positive v), iterated until it meets the
    /// Rayleigh quotient (a lower bound) to 1e-12, so the result is an upper bound and exact to
    /// rounding.
    public static func axisNorm(kernelSize k: Int, stride s: Int, padding p: Int, size: Int) -> Double {
        let outputs = convOutput(size, kernel: k, stride: s, padding: p)
        guard outputs > 0 else { return 0 }
        let window = (0..<outputs).map { o in Swift.max(0, o * s - p)..<Swift.min(size, o * s - p + k) }
        // B = A·Aᵀ, banded: window o overlaps window o′ only for |o − o′| < ⌈k/s⌉.
        let reach = (k + s - 1) / s
        var b = [[(Int, Double)]](repeating: [], count: outputs)
        for o in 0..<outputs {
            for q in Swift.max(0, o - reach + 1)..<Swift.min(outputs, o + reach) {
                let lo = Swift.max(window[o].lowerBound, window[q].lowerBound)
                let hi = Swift.min(window[o].upperBound, window[q].upperBound)
                if hi > lo { b[o].append((q, Double(hi - lo) / Double(k * k))) }
            }
        }
        var v = [Double](repeating: 1, count: outputs)
        var upper = Double.infinity
        for _ in 0..<100_000 {
            let w = b.map { row in row.reduce(0.0) { $0 + $1.1 * v[$1.0] } }
            // Collatz–Wielandt (upper) and Rayleigh (lower) bounds on λ_max.
            var cw = 0.0
            for i in 0..<outputs where v[i] > 0 { cw = Swift.max(cw, w[i] / v[i]) }
            upper = Swift.min(upper, cw)
            let vv = v.reduce(0) { $0 + $1 * $1 }
            let rayleigh = zip(v, w).reduce(0) { $0 + $1.0 * $1.1 } / vv
            if upper - rayleigh <= 1e-12 * upper { break }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            v = w.map { $0 / norm }
        }
        return upper.squareRoot()
    }
}

extension Sequential: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.chain(layers.enumerated().map { (String($0.offset), $0.element) }, path: path)
    }
}

extension MLP: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.chain([("layers", layers)], path: path)
    }
}

extension CurvatureBound {
    /// A layer path for messages: the root model (empty path) is "the model".
    static func displayPath(_ path: String) -> String { path.isEmpty ? "the model" : path }
}

extension SmallCNN: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        var order: [(String, any Layer)] = [("conv1", conv1)]
        if let bn1 { order.append(("bn1", bn1)) }
        order += [("act1", act1), ("conv2", conv2)]
        if let bn2 { order.append(("bn2", bn2)) }
        order += [("act2", act2), ("pool", pool), ("fc1", fc1), ("act3", act3), ("fc2", fc2)]
        bound.chain(order, path: path)
    }
}

extension BasicBlock: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.residual(main: [("conv1", conv1), ("bn1", bn1), ("act1", act1), ("conv2", conv2), ("bn2", bn2)],
                       shortcut: shortcut.map { [("shortcut", $0)] } ?? [], halve: halveSum, path: path)
        bound.add(act2, path: path.isEmpty ? "act2" : path + ".act2")
    }
}

extension ResNet: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.chain([("conv1", conv1), ("bn1", bn1), ("act1", act1)]
                    + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element) }
                    + [("linear", linear)], path: path)
    }
}

extension VGG: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.chain([("features", features), ("classifier", classifier)], path: path)
    }
}
