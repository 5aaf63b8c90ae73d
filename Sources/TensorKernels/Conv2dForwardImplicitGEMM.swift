// The forward convolution as one implicit GEMM per call, y[n] (O×P) = W (O×R) · col(x[n]) (R×P)
// (see Conv2d.swift): the weights are packed once, the B panels gathered straight from the
// prepared input (Conv2dForwardInputLayout.swift, Conv2dImplicitGEMM.swift), workers split the columns.

/// `conv2dForward` on the implicit GEMM, for a geometry with work to do (N, OH, OW, O, R > 0).
func conv2dForwardImplicitGEMM(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               output: UnsafeMutablePointer<Float>) {
    let settings = KernelSettings.current
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW, O = g.outChannels
    let R = g.inChannels * g.kernelHeight * g.kernelWidth
    let N = g.batch
    let layout = ForwardInputLayout(g)
    let prep = PreparedImages(images: N, imgStride: layout.imgStride)
    defer { prep.free() }
    let rowOff = layout.rowOffsetTable(g)
    defer { rowOff.deallocate() }
    let kcBlock = evenBlock(R, convKC, quantum: 16)
    let mPad = packedRows(O)
    let aBuf = ScratchBuffer(mPad * R)
    defer { aBuf.free() }
    let aPacked = aBuf.p
    let pr = ImplicitGEMMProblem(
        m: O, k: R, grid: ColumnGrid(gh: OH, gw: OW), images: N, x: prep.x, xImg: layout.imgStride,
        xRow: layout.Wq, rowOff: rowOff, a: aPacked, kcBlock: kcBlock, out: output, outImg: O * P, outChan: P,
        outRow: OW, outCol: 1)
    let aFlags = OnceFlags(pr.kBlocks)
    defer { aFlags.free() }
    let threads = settings.threads(forFlops: 2.0 * Double(N * P) * Double(O) * Double(R))
    let aOut = SendablePointer(aPacked)
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    let packBlock: (Int) -> Void = { b in
        prepackABlock(weight, lda: R, m: O, k: R, kcBlock: kcBlock, block: b, into: aOut.p)
    }
    let buildImage: (Int, UnsafeMutablePointer<Float>) -> Void = { i, dst in layout.build(input + i * imgIn, dst) }
    let body: (Int) -> Void = { t in
        var b = t
        while b < pr.kBlocks { aFlags.tryBuild(b) { packBlock(b) }; b += threads }
        let (lo, hi) = columnRange(pr.columns, t, threads)
        let ws = ImplicitWorkspace(tiling: settings.tiling)
        defer { ws.free() }
        runImplicitGEMM(pr, c0: lo, c1: hi, ws: ws, ensureA: { b in aFlags.ensure(b) { packBlock(b) } },
                        ensureImages: { lo, hi in prep.ensure(lo, hi, buildImage) })
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        parallelChunks(threads) { t in box.value(t) }
    }
}
