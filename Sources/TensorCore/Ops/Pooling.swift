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
        var indices = [Int32](repeating: 0, count: planes * w.outH * w.outW)
        let p = storage.pointer
        indices.withUnsafeMutableBufferPointer { idx in
            if w.kernel == 2 && w.stride == 2 && w.padding == 0 {
                Self.maxPool2x2Indices(p, idx.baseAddress!, planes: planes, w)
                return
            }
            var o = 0
            for plane in 0..<planes {
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
        return gathered(flatIndices: indices, shape: [shape[0], shape[1], w.outH, w.outW])
    }

    /// Indices of the maxima of non-overlapping 2×2 windows (the common case, unrolled).
    private static func maxPool2x2Indices(_ p: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>,
                                          planes: Int, _ w: PoolWindow) {
        var o = 0
        for plane in 0..<planes {
            let base = plane * w.inH * w.inW
            for oy in 0..<w.outH {
                let row = base + 2 * oy * w.inW
                for ox in 0..<w.outW {
                    let k0 = row + 2 * ox, k2 = k0 + w.inW
                    var best = k0
                    if p[k0 + 1] > p[best] { best = k0 + 1 }
                    if p[k2] > p[best] { best = k2 }
                    if p[k2 + 1] > p[best] { best = k2 + 1 }
                    idx[o] = Int32(best)
                    o += 1
                }
            }
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
        let out = adjoint ? Tensor.zeros(big) : Tensor(uninitializedShape: small)
        let src = x.storage.pointer, dst = out.storage.pointer
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
        return record(out, op: adjoint ? "avgPool2dBackward" : "avgPool2d", inputs: [x]) { c in
            [avgPoolPrimitive(c.gradOutput, w, adjoint: !adjoint)]
        }
    }
}
