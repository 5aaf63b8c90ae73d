import Testing
@testable import TensorKernels

/// Calls `tap(output, input, weight)` with the flat indices of every product
/// y[n, o, oh, ow] += x[n, c, ih, iw] · w[o, c, kh, kw] of a convolution, ih = oh·sh − ph + kh and
/// iw = ow·sw − pw + kw, skipping taps that fall in the zero padding.
func forEachConvTap(_ g: Conv2dGeometry, _ tap: (_ output: Int, _ input: Int, _ weight: Int) -> Void) {
    let OH = g.outHeight, OW = g.outWidth
    for n in 0..<g.batch {
        for o in 0..<g.outChannels {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    let out = ((n * g.outChannels + o) * OH + oh) * OW + ow
                    for c in 0..<g.inChannels {
                        for kh in 0..<g.kernelHeight {
                            let ih = oh * g.strideHeight - g.paddingHeight + kh
                            if ih < 0 || ih >= g.inHeight { continue }
                            for kw in 0..<g.kernelWidth {
                                let iw = ow * g.strideWidth - g.paddingWidth + kw
                                if iw < 0 || iw >= g.inWidth { continue }
                                tap(out, ((n * g.inChannels + c) * g.inHeight + ih) * g.inWidth + iw,
                                    ((o * g.inChannels + c) * g.kernelHeight + kh) * g.kernelWidth + kw)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// y = conv(x, w) in Double.
func referenceConv(_ g: Conv2dGeometry, _ x: [Float], _ w: [Float]) -> [Double] {
    var y = [Double](repeating: 0, count: g.batch * g.outChannels * g.outHeight * g.outWidth)
    forEachConvTap(g) { out, input, weight in y[out] += Double(x[input]) * Double(w[weight]) }
    return y
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

@Suite struct Conv2dTests {
    static let geometries: [Conv2dGeometry] = [
        Conv2dGeometry(batch: 2, inChannels: 3, inHeight: 7, inWidth: 9, outChannels: 4, kernelHeight: 3,
                       kernelWidth: 3),
        Conv2dGeometry(batch: 1, inChannels: 2, inHeight: 8, inWidth: 6, outChannels: 5, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 2, strideWidth: 2, paddingHeight: 1, paddingWidth: 1),
        Conv2dGeometry(batch: 3, inChannels: 4, inHeight: 5, inWidth: 7, outChannels: 3, kernelHeight: 1,
                       kernelWidth: 1),
        Conv2dGeometry(batch: 2, inChannels: 4, inHeight: 9, inWidth: 7, outChannels: 6, kernelHeight: 1,
                       kernelWidth: 1, strideHeight: 2, strideWidth: 2),
        Conv2dGeometry(batch: 2, inChannels: 2, inHeight: 6, inWidth: 11, outChannels: 3, kernelHeight: 5,
                       kernelWidth: 3, strideHeight: 1, strideWidth: 2, paddingHeight: 2, paddingWidth: 1),
        Conv2dGeometry(batch: 5, inChannels: 3, inHeight: 5, inWidth: 5, outChannels: 7, kernelHeight: 5,
                       kernelWidth: 5, paddingHeight: 0, paddingWidth: 0),  // 1×1 output
        Conv2dGeometry(batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 1, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 2, strideWidth: 2, paddingHeight: 2, paddingWidth: 2),
        Conv2dGeometry(batch: 4, inChannels: 6, inHeight: 10, inWidth: 10, outChannels: 8, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 2),
        Conv2dGeometry(batch: 3, inChannels: 16, inHeight: 12, inWidth: 12, outChannels: 40, kernelHeight: 3,
                       kernelWidth: 3, paddingHeight: 1, paddingWidth: 1),  // threaded groups
        // Weight gradient by per-image column GEMMs (C·KH·KW ≤ 16, ≥ 16 output channels):
        Conv2dGeometry(batch: 3, inChannels: 1, inHeight: 9, inWidth: 8, outChannels: 32, kernelHeight: 3,
                       kernelWidth: 3),  // SmallCNN's first layer, small
        Conv2dGeometry(batch: 2, inChannels: 1, inHeight: 7, inWidth: 9, outChannels: 16, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 2, strideWidth: 2, paddingHeight: 1, paddingWidth: 1),
        Conv2dGeometry(batch: 3, inChannels: 4, inHeight: 6, inWidth: 5, outChannels: 20, kernelHeight: 2,
                       kernelWidth: 2, paddingHeight: 1, paddingWidth: 1),  // 16 taps, ragged columns
        Conv2dGeometry(batch: 2, inChannels: 16, inHeight: 6, inWidth: 6, outChannels: 24, kernelHeight: 1,
                       kernelWidth: 1, strideHeight: 2, strideWidth: 2),
        Conv2dGeometry(batch: 12, inChannels: 1, inHeight: 28, inWidth: 28, outChannels: 32, kernelHeight: 3,
                       kernelWidth: 3),  // two workers
    ]

    @Test(arguments: geometries)
    func forwardMatchesReferenceAndAdjoints(_ g: Conv2dGeometry) {
        var rng = TestRNG(geometrySeed(g))
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let w = rng.array(g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth)
        let ySize = g.batch * g.outChannels * g.outHeight * g.outWidth
        var y = [Float](repeating: .nan, count: ySize)
        conv2dForward(g, input: x, weight: w, output: &y)
        let ref = referenceConv(g, x, w)
        var maxErr = 0.0
        for i in 0..<ySize {
            let d = abs(Double(y[i]) - ref[i])
            maxErr = d.isNaN ? .infinity : max(maxErr, d)   // `max` alone would drop a NaN
        }
        #expect(maxErr < 1e-4, "forward max error \(maxErr) for \(g)")

        let dy = rng.array(ySize)
        var dx = [Float](repeating: .nan, count: x.count)
        conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dx)
        var dw = [Float](repeating: .nan, count: w.count)
        conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw)
        var lhs = 0.0
        for i in 0..<ySize { lhs += ref[i] * Double(dy[i]) }
        let scale = max(1, abs(lhs))
        let viaInput = dot(x, dx), viaWeight = dot(w, dw)
        #expect(abs(lhs - viaInput) / scale < 1e-4, "⟨conv x, y⟩ = \(lhs) vs ⟨x, Jᵀy⟩ = \(viaInput) for \(g)")
        #expect(abs(lhs - viaWeight) / scale < 1e-4, "⟨conv x, y⟩ = \(lhs) vs ⟨w, dW⟩ = \(viaWeight) for \(g)")
    }

    @Test func backwardMatchesFiniteStructure() {
        // Element-wise check of both backward passes against explicit sums (small case).
        let g = Conv2dGeometry(batch: 2, inChannels: 2, inHeight: 5, inWidth: 4, outChannels: 3, kernelHeight: 3,
                               kernelWidth: 2, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 1)
        var rng = TestRNG(7)
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let w = rng.array(g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth)
        let dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dx)
        conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw)
        // d⟨conv(x), dy⟩/dx_i = ⟨conv(e_i), dy⟩ (linear in x).
        for i in stride(from: 0, to: x.count, by: 3) {
            var e = [Float](repeating: 0, count: x.count); e[i] = 1
            let want = zip(referenceConv(g, e, w), dy).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            #expect(abs(Double(dx[i]) - want) < 1e-5)
        }
        for i in 0..<w.count {
            var e = [Float](repeating: 0, count: w.count); e[i] = 1
            let want = zip(referenceConv(g, x, e), dy).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            #expect(abs(Double(dw[i]) - want) < 1e-5)
        }
    }
}
