import TensorCore

/// Each layer's Lipschitz constant and curvature, for ``CurvatureBound``.

extension Linear: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.scale(by: Double(OperatorNorm.matrix(weight.detached())))
    }
}

extension SpectralNormLinear: CurvatureBounded {
    /// ‖W/σ̂‖₂ = ‖W‖₂/σ̂, ≈ 1 once the power iteration has converged.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        let sigma = withoutGrad { spectralNorm() }.item
        bound.scale(by: Double(OperatorNorm.matrix(weight.detached()) / sigma))
    }
}

extension Conv2d: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        guard let shape = lastInputShape else { fatalError("CurvatureBound: \(path) has not seen an input yet") }
        let one = [1] + shape.dropFirst()
        bound.scale(by: Double(OperatorNorm.convolution(weight.detached(), inputShape: one, stride: stride, padding: padding)))
    }
}

extension SpectralNormConv2d: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        let sigma = withoutGrad { spectralNorm() }.item
        let norm = OperatorNorm.convolution(weight.detached(), inputShape: v.shape, stride: stride, padding: padding)
        bound.scale(by: Double(norm / sigma))
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
    /// Curvature ≤ β (eq. 3), Lipschitz 1.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta))
    }
}

extension CenteredSoftplus: CurvatureBounded {
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta))
    }
}

extension ParametricSwish: CurvatureBounded {
    /// x·σ(βx) has slope at most ≈1.0998 and |second derivative| ≤ β/2 ≤ β; β is used, as for softplus.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: Double(beta), lipschitz: 1.0998)
    }
}

extension ReLU: CurvatureBounded {
    /// The kink at 0 has no finite curvature.
    public func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String) {
        bound.addNonlinearity(path, width: lastWidth, curvature: .infinity)
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
