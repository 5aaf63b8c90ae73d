import Testing
@testable import TensorKernels

// Element-wise checks of the implicit-GEMM convolutions (and of the column GEMMs on the same
// geometries) against naive double-precision loops, on
// every kernel/stride/padding combination of the SmallCNN and ResNet-18 layers (at small batch
// and channel counts) plus awkward shapes: odd sizes, batch 1, 1×1 kernels, stride 2 with odd
// inputs, outputs narrower than a 16-lane slab, and problems large enough to use both threads,
// several K blocks and M / N tails.

/// dx[n, c, ih, iw] = Σ w[o, c, kh, kw] · dy[n, o, oh, ow] over oh·sh − ph + kh = ih, ow·sw − pw + kw = iw.
func referenceConvBackwardInput(_ g: Conv2dGeometry, _ dy: [Float], _ w: [Float]) -> [Double] {
    var dx = [Double](repeating: 0, count: g.batch * g.inChannels * g.inHeight * g.inWidth)
    forEachConvTap(g) { out, input, weight in dx[input] += Double(w[weight]) * Double(dy[out]) }
    return dx
}

/// dW[o, c, kh, kw] = Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw].
func referenceConvBackwardWeight(_ g: Conv2dGeometry, _ x: [Float], _ dy: [Float]) -> [Double] {
    var dw = [Double](repeating: 0, count: g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth)
    forEachConvTap(g) { out, input, weight in dw[weight] += Double(x[input]) * Double(dy[out]) }
    return dw
}

private func square(_ n: Int, _ c: Int, _ h: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int) -> Conv2dGeometry {
    Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: h, outChannels: o, kernelHeight: k, kernelWidth: k,
                   strideHeight: s, strideWidth: s, paddingHeight: p, paddingWidth: p)
}


@Suite struct Conv2dImplicitTests {
    static let layerGeometries: [Conv2dGeometry] = [
        // SmallCNN conv1 (1 → 32, 28×28, 3×3, no padding) and conv2 (26×26 → 24×24).
        square(3, 1, 28, 32, 3, 1, 0),
        square(2, 32, 26, 16, 3, 1, 0),
        // ResNet-18 (CIFAR): stem, stage convs, stride-2 convs and 1×1 stride-2 shortcuts.
        square(2, 3, 32, 16, 3, 1, 1),
        square(2, 16, 32, 16, 3, 1, 1),
        square(2, 16, 32, 24, 3, 2, 1),
        square(2, 24, 16, 24, 3, 1, 1),
        square(2, 16, 32, 24, 1, 2, 0),
        square(2, 24, 16, 40, 3, 2, 1),
        square(2, 40, 8, 40, 3, 1, 1),
        square(2, 24, 16, 40, 1, 2, 0),
        square(2, 40, 8, 64, 3, 2, 1),
        square(2, 64, 4, 64, 3, 1, 1),
        square(2, 40, 8, 64, 1, 2, 0),
    ]

    static let awkwardGeometries: [Conv2dGeometry] = [
        square(1, 5, 7, 13, 3, 1, 1),                  // batch 1, odd everything
        square(1, 8, 9, 20, 3, 2, 1),                  // stride 2, odd input, batch 1
        square(3, 7, 11, 9, 3, 2, 1),                  // stride 2, odd input, chunked phases
        square(4, 6, 15, 10, 1, 2, 0),                 // 1×1 stride 2, odd input
        square(3, 9, 5, 14, 1, 1, 0),                  // 1×1 stride 1 (pointwise)
        square(2, 4, 6, 5, 1, 1, 1),                   // 1×1 with padding (zero border outputs)
        square(5, 3, 3, 7, 3, 1, 0),                   // 1×1 outputs, many images per slab
        square(2, 2, 9, 3, 5, 2, 2),                   // 5×5 kernel (25 taps), stride 2
        square(4, 1, 10, 4, 3, 1, 0),                  // one input channel, small
        Conv2dGeometry(batch: 3, inChannels: 5, inHeight: 9, inWidth: 13, outChannels: 6, kernelHeight: 3,
                       kernelWidth: 2, strideHeight: 2, strideWidth: 3, paddingHeight: 1, paddingWidth: 2),
        Conv2dGeometry(batch: 2, inChannels: 3, inHeight: 12, inWidth: 7, outChannels: 5, kernelHeight: 2,
                       kernelWidth: 3, strideHeight: 1, strideWidth: 2, paddingHeight: 0, paddingWidth: 1),
        Conv2dGeometry(batch: 2, inChannels: 4, inHeight: 8, inWidth: 8, outChannels: 3, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 3, strideWidth: 3, paddingHeight: 1, paddingWidth: 1),
        square(2, 3, 6, 4, 3, 1, 3),                   // padding larger than the kernel reach
        square(2, 2, 5, 3, 1, 3, 0),                   // 1×1 stride 3 (taps only on one phase)
        // Input-gradient paths by channel count: 2…4 (direct small-channel kernel), ≥ 48
        // (implicit phase GEMM: stride 1, strided chunks, strided batch 1, rectangular stride).
        square(3, 2, 9, 5, 3, 1, 1),
        square(2, 4, 11, 6, 5, 1, 2),
        square(3, 48, 9, 20, 3, 2, 1),
        square(1, 50, 7, 12, 3, 2, 1),
        square(2, 48, 9, 5, 5, 2, 2),
        square(2, 49, 5, 7, 3, 1, 0),
        Conv2dGeometry(batch: 2, inChannels: 52, inHeight: 7, inWidth: 10, outChannels: 9, kernelHeight: 3,
                       kernelWidth: 3, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 1),
    ]

    /// Large enough to fork, several K blocks (R > 256), M tails (O % 12 ≠ 0) and N tails.
    static let threadedGeometries: [Conv2dGeometry] = [
        square(4, 40, 12, 30, 3, 1, 1),
        square(6, 36, 11, 50, 3, 2, 1),
        square(3, 64, 6, 70, 3, 1, 1),
        square(8, 48, 9, 28, 1, 2, 0),
        square(16, 1, 14, 32, 3, 1, 0),
        square(2, 96, 4, 40, 3, 1, 1),                 // few pixels, big R: weight gradient splits R
        square(4, 64, 10, 24, 3, 2, 1),                // strided input gradient on both threads
        // Few output pixels (the column GEMM): one image (W's rows split over the threads), two
        // and three images per group (joined and split planes), strided and 1×1.
        square(1, 80, 4, 70, 3, 1, 1),
        square(2, 48, 4, 30, 3, 1, 1),
        square(3, 40, 5, 26, 3, 2, 1),
        square(1, 60, 8, 50, 1, 2, 0),
    ]

    static func check(_ g: Conv2dGeometry) {
        var rng = TestRNG(geometrySeed(g))
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let w = rng.array(g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth)
        let ySize = g.batch * g.outChannels * g.outHeight * g.outWidth
        let dy = rng.array(ySize)

        var y = [Float](repeating: .nan, count: ySize)
        conv2dForward(g, input: x, weight: w, output: &y)
        let yRef = referenceConv(g, x, w)
        let fwdErr = relativeError(y, yRef)
        #expect(fwdErr < 1e-5, "forward error \(fwdErr) for \(g)")

        var dx = [Float](repeating: .nan, count: x.count)
        conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dx)
        let dxRef = referenceConvBackwardInput(g, dy, w)
        let dxErr = relativeError(dx, dxRef)
        #expect(dxErr < 1e-5, "backward-input error \(dxErr) for \(g)")

        // Both GEMM forms of the forward and backward-input passes on every geometry, whichever
        // the dispatch table picks (the column form takes calls of few output pixels).
        for algorithm in [Conv2dAlgorithm.implicitGEMM, .columns] {
            var ya = [Float](repeating: .nan, count: ySize)
            conv2dForward(g, input: x, weight: w, output: &ya, algorithm: algorithm)
            let yaErr = relativeError(ya, yRef)
            #expect(yaErr < 1e-5, "\(algorithm) forward error \(yaErr) for \(g)")
            var dxa = [Float](repeating: .nan, count: x.count)
            conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dxa, algorithm: algorithm)
            let dxaErr = relativeError(dxa, dxRef)
            #expect(dxaErr < 1e-5, "\(algorithm) backward-input error \(dxaErr) for \(g)")
        }

        var dw = [Float](repeating: .nan, count: w.count)
        conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw)
        let dwErr = relativeError(dw, referenceConvBackwardWeight(g, x, dy))
        #expect(dwErr < 1e-5, "backward-weight error \(dwErr) for \(g)")

        // Exact adjoint relations: ⟨conv(x), dy⟩ = ⟨x, dx⟩ = ⟨w, dW⟩.
        var lhs = 0.0
        for i in 0..<ySize { lhs += yRef[i] * Double(dy[i]) }
        let scale = max(1, abs(lhs))
        #expect(abs(lhs - dot(x, dx)) / scale < 1e-4, "⟨conv x, dy⟩ vs ⟨x, dx⟩ for \(g)")
        #expect(abs(lhs - dot(w, dw)) / scale < 1e-4, "⟨conv x, dy⟩ vs ⟨w, dW⟩ for \(g)")

        // Outputs are overwritten: a second call on garbage-filled buffers gives the same bits.
        var y2 = [Float](repeating: 1e30, count: ySize)
        conv2dForward(g, input: x, weight: w, output: &y2)
        #expect(y2 == y)
        var dx2 = [Float](repeating: -7, count: x.count)
        conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dx2)
        #expect(dx2 == dx)
        var dw2 = [Float](repeating: .infinity, count: w.count)
        conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw2)
        #expect(dw2 == dw)
    }

    @Test(arguments: layerGeometries)
    func networkLayers(_ g: Conv2dGeometry) { Self.check(g) }

    @Test(arguments: awkwardGeometries)
    func awkwardShapes(_ g: Conv2dGeometry) { Self.check(g) }

    @Test(arguments: threadedGeometries)
    func threadedShapes(_ g: Conv2dGeometry) { Self.check(g) }

    @Test func emptyAndDegenerate() {
        // Output smaller than zero pixels: forward writes nothing, gradients are zero.
        let g = Conv2dGeometry(batch: 2, inChannels: 2, inHeight: 2, inWidth: 2, outChannels: 3, kernelHeight: 3,
                               kernelWidth: 3)
        let x = [Float](repeating: 1, count: 2 * 2 * 4)
        let w = [Float](repeating: 1, count: 3 * 2 * 9)
        var dx = [Float](repeating: .nan, count: x.count)
        conv2dBackwardInput(g, gradOutput: [], weight: w, gradInput: &dx)
        #expect(dx.allSatisfy { $0 == 0 })
        var dw = [Float](repeating: .nan, count: w.count)
        conv2dBackwardWeight(g, input: x, gradOutput: [], gradWeight: &dw)
        #expect(dw.allSatisfy { $0 == 0 })
    }
}
