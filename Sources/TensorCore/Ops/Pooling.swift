import TensorKernels

/// Spatial pooling over NCHW batches.

struct PoolWindow {
    let kernel, stride, padding: Int
    let inH, inW: Int
    var outH: Int { (inH + 2 * padding - kernel) / stride + 1 }
    var outW: Int { (inW + 2 * padding - kernel) / stride + 1 }

    init(_ op: String, shape: [Int], kernel: Int, stride: Int?, padding: Int) {
        guard shape.count == 4 else { invalidShape(op, shape, "is not an NCHW batch (rank 4)") }
        let s = stride ?? kernel
        precondition(kernel >= 1 && s >= 1 && padding >= 0 && 2 * padding <= kernel,
                     "\(op): kernel \(kernel), stride \(s), padding \(padding) are invalid (padding at most half the kernel)")
        (self.kernel, self.stride, self.padding, inH, inW) = (kernel, s, padding, shape[2], shape[3])
        guard inH + 2 * padding >= kernel, inW + 2 * padding >= kernel else {
            invalidShape(op, shape, "is smaller than the \(kernel)×\(kernel) window")
        }
    }
}

extension Tensor {
    /// Max pooling with a square window; padded positions never win.
    /// The gradient goes to the (first) maximal element of each window.
    public func maxPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let w = PoolWindow("maxPool2d", shape: shape, kernel: kernelSize, stride: stride, padding: padding)
        let planes = shape[0] * shape[1]
        if w.kernel == 2 && w.stride == 2 && w.padding == 0 { return maxPool2x2() }
        var indices = [Int32](repeating: 0, count: planes * w.outH * w.outW)
        let p = storage.pointer
        indices.withUnsafeMutableBufferPointer { buffer in
            let idx = buffer.baseAddress!
            let perPlane = w.outH * w.outW
            parallelFor(planes, minimumWorkPerThread: Swift.max(1, 16_384 / Swift.max(perPlane * w.kernel * w.kernel, 1))) { range in
            var o = range.lowerBound * perPlane
            for plane in range {
                let base = plane * w.inH * w.inW
                for oy in 0..<w.outH {
                    let y0 = oy * w.stride - w.padding
                    for ox in 0..<w.outW {
                        let x0 = ox * w.stride - w.padding
                        var best = -1
                        var bestValue = -Float.infinity
                        for ky in Swift.max(0, y0)..<Swift.min(w.inH, y0 + w.kernel) {
                            for kx in Swift.max(0, x0)..<Swift.min(w.inW, x0 + w.kernel) {
                                let k = base + ky * w.inW + kx
                                if best < 0 || p[k] > bestValue || p[k].isNaN { best = k; bestValue = p[k] }
                            }
                        }
                        idx[o] = Int32(best)
                        o += 1
                    }
                }
            }
            }
        }
        // Windows that do not overlap pick distinct inputs, so the backward scatter can run in parallel.
        return gathered(flatIndices: indices, shape: [shape[0], shape[1], w.outH, w.outW],
                        indicesAreDistinct: w.stride >= w.kernel)
    }

    /// Non-overlapping 2×2 max pooling by the SIMD kernel; the rule is the gather's (a
    /// parallel scatter-add of the gradient to the winning positions).
    private func maxPool2x2() -> Tensor {
        let (outH, outW) = (shape[2] / 2, shape[3] / 2)
        let outShape = [shape[0], shape[1], outH, outW]
        let out = Tensor(uninitializedShape: outShape)
        var indices = [Int32](repeating: 0, count: out.count)
        indices.withUnsafeMutableBufferPointer { idx in
            TensorKernels.maxPool2x2(storage.pointer, planes: shape[0] * shape[1], height: shape[2], width: shape[3],
                                     values: out.storage.pointer, indices: idx.baseAddress!)
        }
        return Tensor.record(out, op: .maxPool2d, inputs: [self]) { c in
            [c.gradOutput.scatterAdded(flatIndices: indices, shape: c.inputs[0].shape, indicesAreDistinct: true)]
        }
    }

    /// Average pooling with a square window; padded zeros count in the divisor (PyTorch's
    /// default `count_include_pad=True`). Linear: its adjoint spreads each gradient evenly.
    public func avgPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let w = PoolWindow("avgPool2d", shape: shape, kernel: kernelSize, stride: stride, padding: padding)
        return Tensor.avgPoolPrimitive(self, w, adjoint: false)
    }

    /// Adaptive average pooling to 1×1: the mean over each channel plane, `[N,C,H,W] → [N,C,1,1]`.
    public func adaptiveAvgPool2dTo1x1() -> Tensor {
        guard rank == 4 else { invalidShape("adaptiveAvgPool2d", shape, "is not an NCHW batch (rank 4)") }
        return mean(axes: [2, 3], keepDims: true)
    }

    /// Average pooling (`adjoint == false`, input `[N,C,inH,inW]`) or its adjoint
    /// (input `[N,C,outH,outW]`, output `[N,C,inH,inW]`). Each is the other's derivative.
    static func avgPoolPrimitive(_ x: Tensor, _ w: PoolWindow, adjoint: Bool) -> Tensor {
        let planes = x.shape[0] * x.shape[1]
        let big = [x.shape[0], x.shape[1], w.inH, w.inW], small = [x.shape[0], x.shape[1], w.outH, w.outW]
        guard x.shape == (adjoint ? small : big) else {
            shapeMismatch(adjoint ? "avgPool2dBackward" : "avgPool2d", x.shape, adjoint ? small : big, "differ (input, expected)")
        }
        let src = x.storage.pointer
        if w.kernel == 2 && w.stride == 2 && w.padding == 0 {
            let out = Tensor(uninitializedShape: adjoint ? big : small)
            if adjoint {
                TensorKernels.avgPool2x2Adjoint(src, planes: planes, height: w.inH, width: w.inW, into: out.storage.pointer)
            } else {
                TensorKernels.avgPool2x2(src, planes: planes, height: w.inH, width: w.inW, into: out.storage.pointer)
            }
            return recordAvgPool(out, x, w, adjoint: adjoint)
        }
        let out = adjoint ? Tensor.zeros(big) : Tensor(uninitializedShape: small)
        let dst = out.storage.pointer
        let scale = 1 / Float(w.kernel * w.kernel)
        for plane in 0..<planes {
            let bigBase = plane * w.inH * w.inW, smallBase = plane * w.outH * w.outW
            for oy in 0..<w.outH {
                let y0 = oy * w.stride - w.padding
                for ox in 0..<w.outW {
                    let x0 = ox * w.stride - w.padding
                    let ys = Swift.max(0, y0)..<Swift.min(w.inH, y0 + w.kernel)
                    let xs = Swift.max(0, x0)..<Swift.min(w.inW, x0 + w.kernel)
                    if adjoint {
                        let v = src[smallBase + oy * w.outW + ox] * scale
                        for ky in ys { for kx in xs { dst[bigBase + ky * w.inW + kx] += v } }
                    } else {
                        var s: Float = 0
                        for ky in ys { for kx in xs { s += src[bigBase + ky * w.inW + kx] } }
                        dst[smallBase + oy * w.outW + ox] = s * scale
                    }
                }
            }
        }
        return recordAvgPool(out, x, w, adjoint: adjoint)
    }

    /// Records `out = avgPool(x)` (or its adjoint) on the tape; the derivative of each is the other.
    private static func recordAvgPool(_ out: Tensor, _ x: Tensor, _ w: PoolWindow, adjoint: Bool) -> Tensor {
        record(out, op: adjoint ? .avgPool2dBackward : .avgPool2d, inputs: [x]) { c in
            [avgPoolPrimitive(c.gradOutput, w, adjoint: !adjoint)]
        }
    }
}
