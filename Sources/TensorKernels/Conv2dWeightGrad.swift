// Weight gradient of the convolution as an implicit GEMM:
//
//   dW (O × R) = Σ_k A[o, k] · B[k, r],   k = (n, oh, ow),
//   A[o, k] = dy[n, o, oh, ow],   B[k, r] = col(x[n])[r, (oh, ow)] = X[rowOff[r] + n·xImg + oh·Wq + ow],
//
// with X the forward pass's prepared input. Both operands are contiguous along k (pixels), so each
// 16-pixel slab of 16 (or 12) rows is gathered as vectors and transposed in registers into the
// packed micro-panel layouts. Workers split K (each into a private partial, summed at the end) when
// dW is small next to the pixel count, and the R columns of dW otherwise.

/// Geometry of one weight-gradient GEMM.
struct WeightGradProblem {
    let o: Int, r: Int
    let grid: ColumnGrid
    let dy: UnsafePointer<Float>
    let dyImg: Int, dyRow: Int, dyCount: Int
    let x: UnsafePointer<Float>
    let xImg: Int, xRow: Int
    let rowOff: UnsafePointer<Int>
}

/// Computes C[:, r0..<r1] ← dW[:, r0..<r1] + beta·C[:, r0..<r1] (ldc = R) over pixels [k0, k1):
/// beta 0 overwrites C (never reading it), 1 accumulates.
func runWeightGrad(_ pr: WeightGradProblem, k0: Int, k1: Int, r0: Int, r1: Int, c: UnsafeMutablePointer<Float>,
                   beta firstBeta: Float, ws: ImplicitWorkspace, ensureImages: (Int, Int) -> Void) {
    if k0 >= k1 || r0 >= r1 {
        if k0 >= k1 && r0 < r1 {
            for o in 0..<pr.o { scaleMatrix(m: 1, n: r1 - r0, beta: firstBeta, c: c + o * pr.r + r0, ldc: pr.r) }
        }
        return
    }
    let per = pr.grid.perImage
    let stage = ws.stage
    let safe = UnsafeMutablePointer<Bool>.allocate(capacity: ws.kc / 16 + 2)
    defer { safe.deallocate() }
    var jc = r0
    while jc < r1 {
        let nc = min(ws.nc, r1 - jc)
        var pc = k0
        while pc < k1 {
            let kc = min(ws.kc, k1 - pc)
            let slabCount = (kc + 15) / 16
            ensureImages(pc / per, (pc + kc - 1) / per + 1)
            ws.slabs.fill(pr.grid, j0: pc, n: kc, imgStride: pr.xImg, rowStride: pr.xRow)
            ws.slabs2.fill(pr.grid, j0: pc, n: kc, imgStride: pr.dyImg, rowStride: pr.dyRow)
            for s in 0..<slabCount {
                let (lo, hi) = ws.slabs2.touchedRange(s)
                safe[s] = lo >= 0 && (pr.o - 1) * per + hi < pr.dyCount
            }
            // B block: panels of 32 dW columns (r), kc pixel steps.
            let panels = (nc + gemmNR - 1) / gemmNR
            for q in 0..<panels {
                let panel = ws.b + q * kc * gemmNR
                let rq = jc + q * gemmNR
                let cols = min(gemmNR, nc - q * gemmNR)
                for half in 0..<(cols > 16 ? 2 : 1) {
                    let rLo = rq + 16 * half
                    let full = rLo + 16 <= jc + nc
                    for s in 0..<slabCount {
                        if full && ws.slabs.isSimple(s) {
                            let off = ws.slabs.offs[s * 16]
                            let src = pr.x + off
                            let ro = pr.rowOff + rLo
                            for i in 0..<16 { store16(stage + 16 * i, load16(src + ro[i])) }
                        } else if full && ws.slabs.counts[s] == 2 && ws.slabs.valids[s] == 16 {
                            // Two runs (the slab crosses an output row): two loads and a blend.
                            let src0 = pr.x + ws.slabs.offs[s * 16], src1 = pr.x + ws.slabs.offs[s * 16 + 1]
                            let mask = laneIndex16 .>= SIMD16<Int32>(repeating: ws.slabs.starts[s * 16 + 1])
                            let ro = pr.rowOff + rLo
                            for i in 0..<16 {
                                var v = load16(src0 + ro[i])
                                v.replace(with: load16(src1 + ro[i]), where: mask)
                                store16(stage + 16 * i, v)
                            }
                        } else if full && ws.slabs.counts[s] <= 4 && ws.slabs.valids[s] == 16 {
                            // Three or four runs (narrow outputs): loads and blends with hoisted masks.
                            let o = ws.slabs.offs + s * 16, st = ws.slabs.starts + s * 16
                            let cnt = ws.slabs.counts[s]
                            let src0 = pr.x + o[0], src1 = pr.x + o[1], src2 = pr.x + o[2]
                            let src3 = pr.x + (cnt == 4 ? o[3] : o[2])
                            let m1 = laneIndex16 .>= SIMD16<Int32>(repeating: st[1])
                            let m2 = laneIndex16 .>= SIMD16<Int32>(repeating: st[2])
                            let m3 = laneIndex16 .>= SIMD16<Int32>(repeating: cnt == 4 ? st[3] : 16)
                            let ro = pr.rowOff + rLo
                            for i in 0..<16 {
                                var v = load16(src0 + ro[i])
                                v.replace(with: load16(src1 + ro[i]), where: m1)
                                v.replace(with: load16(src2 + ro[i]), where: m2)
                                v.replace(with: load16(src3 + ro[i]), where: m3)
                                store16(stage + 16 * i, v)
                            }
                        } else {
                            for i in 0..<16 {
                                let r = rLo + i
                                let v = r < jc + nc ? ws.slabs.gather(pr.x + pr.rowOff[r], s) : SIMD16<Float>()
                                store16(stage + 16 * i, v)
                            }
                        }
                        transpose16x16(stage, 16, panel + 16 * s * gemmNR + 16 * half, gemmNR)
                    }
                }
            }
            let beta: Float = pc == k0 ? firstBeta : 1
            var ic = 0
            while ic < pr.o {
                let mc = min(ws.mc, pr.o - ic)
                // A block: panels of 12 output channels, kc pixel steps.
                for i in 12..<16 { store16(stage + 16 * i, SIMD16<Float>()) }
                var ir = 0
                while ir < mc {
                    let panel = ws.a + (ir / gemmMR) * kc * gemmMR
                    let fullRows = ic + ir + gemmMR <= ic + mc
                    for s in 0..<slabCount {
                        let exact = !safe[s]
                        if fullRows && !exact && ws.slabs2.isSimple(s) {
                            let src = pr.dy + (ic + ir) * per + ws.slabs2.offs[s * 16]
                            for i in 0..<gemmMR { store16(stage + 16 * i, load16(src + i * per)) }
                            transpose16x16(stage, 16, panel + 16 * s * gemmMR, gemmMR)
                            continue
                        }
                        for i in 0..<gemmMR {
                            let o = ic + ir + i
                            var v = SIMD16<Float>()
                            if o < ic + mc {
                                let base = pr.dy + o * per
                                v = exact ? ws.slabs2.gatherExact(base, s) : ws.slabs2.gather(base, s)
                            }
                            store16(stage + 16 * i, v)
                        }
                        transpose16x16(stage, 16, panel + 16 * s * gemmMR, gemmMR)
                    }
                    ir += gemmMR
                }
                var jr = 0
                while jr < nc {
                    let nr = min(gemmNR, nc - jr)
                    let bPanel = ws.b + (jr / gemmNR) * kc * gemmNR
                    var ir = 0
                    while ir < mc {
                        let mr = min(gemmMR, mc - ir)
                        runMicroKernel(kc: kc, a: ws.a + (ir / gemmMR) * kc * gemmMR, b: bPanel,
                                       c: c + (ic + ir) * pr.r + jc + jr, ldc: pr.r, beta: beta, mr: mr, nr: nr,
                                       tiling: ws.tiling)
                        ir += gemmMR
                    }
                    jr += gemmNR
                }
                ic += ws.mc
            }
            pc += kc
        }
        jc += nc
    }
}

/// `conv2dBackwardWeight` on the implicit GEMM, for a geometry with work to do (O, R, N, OH, OW > 0):
/// gradWeight ← dW + beta·gradWeight (the first pixel block's tiles read C with beta; with a split K
/// the first worker's share does, the others' partials are then added).
func conv2dBackwardWeightImplicitGEMM(_ g: Conv2dGeometry, input: UnsafePointer<Float>,
                                      gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                      beta: Float = 0) {
    let settings = KernelSettings.current
    let OH = g.outHeight, OW = g.outWidth, P = max(0, OH) * max(0, OW), O = g.outChannels
    let R = g.inChannels * g.kernelHeight * g.kernelWidth
    let N = g.batch
    let layout = ForwardInputLayout(g)
    let prep = PreparedImages(images: N, imgStride: layout.imgStride)
    defer { prep.free() }
    let rowOff = layout.rowOffsetTable(g)
    defer { rowOff.deallocate() }
    let K = N * P
    let pr = WeightGradProblem(o: O, r: R, grid: ColumnGrid(gh: OH, gw: OW), dy: gradOutput, dyImg: O * P,
                               dyRow: OW, dyCount: N * O * P, x: prep.x, xImg: layout.imgStride,
                               xRow: layout.Wq, rowOff: rowOff)
    let threads = settings.threads(forFlops: 2.0 * Double(K) * Double(O) * Double(R))
    let rPanels = (R + gemmNR - 1) / gemmNR
    // Split K when the partial dW sums are cheap next to duplicating the dy packing.
    let splitK = threads > 1 && (2 * R < K || rPanels < threads)
    let partialBuf = ScratchBuffer(splitK ? (threads - 1) * O * R : 1)
    defer { partialBuf.free() }
    let partials = partialBuf.p
    let dwp = SendablePointer(gradWeight)
    let pp = SendablePointer(partials)
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    let buildImage: (Int, UnsafeMutablePointer<Float>) -> Void = { i, dst in layout.build(input + i * imgIn, dst) }
    let body: (Int) -> Void = { t in
        let ws = ImplicitWorkspace(needA: true, tiling: settings.tiling)
        defer { ws.free() }
        if splitK {
            let k0 = (t * (K / 16) / threads) * 16
            let k1 = t == threads - 1 ? K : ((t + 1) * (K / 16) / threads) * 16
            let dst = t == 0 ? dwp.p : pp.p + (t - 1) * O * R
            runWeightGrad(pr, k0: k0, k1: k1, r0: 0, r1: R, c: dst, beta: t == 0 ? beta : 0, ws: ws,
                          ensureImages: { lo, hi in prep.ensure(lo, hi, buildImage) })
        } else {
            // Build a share of the images first (every worker reads all of them).
            for i in (t * N / threads)..<((t + 1) * N / threads) {
                prep.flags.tryBuild(i) { buildImage(i, prep.x + i * prep.imgStride) }
            }
            let r0 = min(R, (t * rPanels / threads) * gemmNR)
            let r1 = min(R, ((t + 1) * rPanels / threads) * gemmNR)
            runWeightGrad(pr, k0: 0, k1: K, r0: r0, r1: r1, c: dwp.p, beta: beta, ws: ws,
                          ensureImages: { lo, hi in prep.ensure(lo, hi, buildImage) })
        }
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        parallelChunks(threads) { t in box.value(t) }
    }
    if splitK {
        for t in 1..<threads {
            let src = partials + (t - 1) * O * R
            var i = 0
            let n = O * R
            while i + 16 <= n {
                store16(gradWeight + i, load16(gradWeight + i) + load16(src + i))
                i += 16
            }
            while i < n { gradWeight[i] += src[i]; i += 1 }
        }
    }
}
