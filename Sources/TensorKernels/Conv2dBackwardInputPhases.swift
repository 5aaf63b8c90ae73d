// The backward-input pass as one implicit GEMM per output phase (see Conv2d.swift):
//   dx[n, c, sh·u + α − ph, sw·v + β − pw] = Σ_{o, t, s} w[o, c, α + sh·t, β + sw·s] · dy[n, o, u − t, v − s],
// a stride-1 convolution of the zero-padded dy with the flipped, transposed sub-kernel. The
// small-channel kernel (Conv2dSmallChannels.swift) runs on the same prepared dy.

/// One output phase of the backward-input pass (see the file header).
struct BackwardInputPhase {
    let alpha: Int, beta: Int
    let th: Int, tw: Int        // taps per direction
    let u0: Int, gh: Int        // dx rows sh·(u0 + i) + α − ph, i < gh
    let v0: Int, gw: Int
    var k: Int = 0              // O · th · tw
    var aOffset: Int = 0        // start of this phase's prepacked A
    var rowOffOffset: Int = 0   // start of this phase's row offsets
    var blockOffset: Int = 0    // first A block index of this phase
}

/// `conv2dBackwardInput` by output phases, for a geometry with work to do; `algorithm` is
/// ``Conv2dAlgorithm/implicitGEMM`` or ``Conv2dAlgorithm/smallChannels`` (stride 1, one phase).
/// Strided convolutions with at least one image per thread run each worker on whole images, in
/// chunks, through a phase-planar scratch (`interleavePhases`); the others split the GEMM columns.
func conv2dBackwardInputPhases(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               gradInput: UnsafeMutablePointer<Float>, algorithm: Conv2dAlgorithm) {
    let settings = KernelSettings.current
    let C = g.inChannels, H = g.inHeight, W = g.inWidth
    let KH = g.kernelHeight, KW = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
    let ph = g.paddingHeight, pw = g.paddingWidth
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW, O = g.outChannels
    let N = g.batch
    let imgIn = C * H * W
    // Phases and the extent of padded dy they read.
    var phases: [BackwardInputPhase] = []
    var rowLo = 0, rowHi = OH, colLo = 0, colHi = OW
    for a in 0..<sh {
        for b in 0..<sw {
            let th = a < KH ? (KH - a + sh - 1) / sh : 0
            let tw = b < KW ? (KW - b + sw - 1) / sw : 0
            let u0 = ceilDiv(ph - a, sh), u1 = floorDiv(ph + H - 1 - a, sh)
            let v0 = ceilDiv(pw - b, sw), v1 = floorDiv(pw + W - 1 - b, sw)
            if u1 < u0 || v1 < v0 { continue }
            var phase = BackwardInputPhase(alpha: a, beta: b, th: th, tw: tw, u0: u0, gh: u1 - u0 + 1, v0: v0,
                                           gw: v1 - v0 + 1)
            phase.k = O * th * tw
            if phase.k > 0 {
                rowLo = min(rowLo, u0 - (th - 1)); rowHi = max(rowHi, u1 + 1)
                colLo = min(colLo, v0 - (tw - 1)); colHi = max(colHi, v1 + 1)
            }
            phases.append(phase)
        }
    }
    let DH = rowHi - rowLo, DW = colHi - colLo
    let dPlane = DH * DW
    let prep = PreparedImages(images: N, imgStride: O * dPlane)
    defer { prep.free() }
    let mPad = packedRows(C)
    var totalK = 0, totalBlocks = 0
    var kcBlocks: [Int] = []
    for i in phases.indices where phases[i].k > 0 {
        let kc = evenBlock(phases[i].k, convKC, quantum: 16)
        kcBlocks.append(kc)
        phases[i].aOffset = totalK * mPad
        phases[i].rowOffOffset = totalK
        phases[i].blockOffset = totalBlocks
        totalK += phases[i].k
        totalBlocks += (phases[i].k + kc - 1) / kc
    }
    let rowOff = UnsafeMutablePointer<Int>.allocate(capacity: max(totalK, 1))
    defer { rowOff.deallocate() }
    let aBuf = ScratchBuffer(max(totalK * mPad, 1))
    defer { aBuf.free() }
    let aPacked = aBuf.p
    // Dense A per phase: A[c, (o, t, s)] = w[o, c, α + sh·t, β + sw·s] (built per block below).
    var problems: [ImplicitGEMMProblem] = []
    var problemPhase: [Int] = []
    var kcIndex = 0
    for (pi, ph0) in phases.enumerated() where ph0.k > 0 {
        for o in 0..<O {
            for t in 0..<ph0.th {
                for s in 0..<ph0.tw {
                    rowOff[ph0.rowOffOffset + (o * ph0.th + t) * ph0.tw + s] =
                        o * dPlane + (ph0.u0 - t - rowLo) * DW + (ph0.v0 - s - colLo)
                }
            }
        }
        let outBase = (sh * ph0.u0 + ph0.alpha - ph) * W + (sw * ph0.v0 + ph0.beta - pw)
        problems.append(ImplicitGEMMProblem(
            m: C, k: ph0.k, grid: ColumnGrid(gh: ph0.gh, gw: ph0.gw), images: N, x: prep.x, xImg: O * dPlane,
            xRow: DW, rowOff: rowOff + ph0.rowOffOffset, a: aPacked + ph0.aOffset, kcBlock: kcBlocks[kcIndex],
            out: gradInput + outBase, outImg: imgIn, outChan: H * W, outRow: sh * W, outCol: sw))
        problemPhase.append(pi)
        kcIndex += 1
    }
    let emptyPhases = phases.filter { $0.k == 0 }
    let aFlags = OnceFlags(totalBlocks)
    defer { aFlags.free() }
    let flops = 2.0 * Double(N * P) * Double(O) * Double(C * KH * KW)
    let threads = settings.threads(forFlops: flops)
    let aOut = SendablePointer(aPacked)
    let dxOut = SendablePointer(gradInput)
    // Block → (problem, local block).
    var blockOwner: [(Int, Int)] = []
    for (qi, pr) in problems.enumerated() {
        for b in 0..<pr.kBlocks { blockOwner.append((qi, b)) }
    }
    let packBlock: (Int) -> Void = { gb in
        let (qi, b) = blockOwner[gb]
        let pr = problems[qi]
        let ph0 = phases[problemPhase[qi]]
        let pc = b * pr.kcBlock
        let kc = min(pr.kcBlock, pr.k - pc)
        // Packed panels of 12 input channels: A[c, kk] = w[o, c, α + sh·t, β + sw·s], kk = (o·th + t)·tw + s.
        let taps = ph0.th * ph0.tw
        let dst = aOut.p + ph0.aOffset + pc * mPad
        let khw = KH * KW
        let oLo = pc / taps, oHi = (pc + kc - 1) / taps
        let wEnd = weight + O * C * khw
        // Tap index within w[o, c] for each phase tap.
        let tapIndex = UnsafeMutablePointer<Int>.allocate(capacity: max(taps, 1))
        defer { tapIndex.deallocate() }
        for t in 0..<ph0.th {
            for s in 0..<ph0.tw { tapIndex[t * ph0.tw + s] = (ph0.alpha + sh * t) * KW + ph0.beta + sw * s }
        }
        if khw == 1 {
            // A[c, o] = w[o, c]: a transposed pack.
            packA(transpose: true, a: weight, lda: C, i0: 0, mc: C, p0: pc, kc: kc, alpha: 1, into: dst)
            return
        }
        let stage = UnsafeMutablePointer<Float>.allocate(capacity: 512)
        defer { stage.deallocate() }
        var c0 = 0
        while c0 < C {
            let rows = min(gemmMR, C - c0)
            let panel = dst + (c0 / gemmMR) * kc * gemmMR
            for o in oLo...oHi {
                let src = weight + (o * C + c0) * khw
                let kk0 = o * taps - pc
                if khw <= 16 && src + (rows - 1) * khw + 16 <= wEnd {
                    // 12 rows w[o, c0 + r, ·] (≤ 16 taps each) transposed to tap-major rows of 12.
                    for r in 0..<16 {
                        store16(stage + 16 * r, r < rows ? load16(src + r * khw) : SIMD16<Float>())
                    }
                    transpose16x16(stage, 16, stage + 256, 16)
                    for i in 0..<taps {
                        let kk = kk0 + i
                        if kk < 0 || kk >= kc { continue }
                        let v = load16(stage + 256 + 16 * tapIndex[i])
                        let d = panel + kk * gemmMR
                        UnsafeMutableRawPointer(d).storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(d + 8).storeBytes(of: SIMD4<Float>(v[8], v[9], v[10], v[11]),
                                                                  as: SIMD4<Float>.self)
                    }
                } else {
                    for i in 0..<taps {
                        let kk = kk0 + i
                        if kk < 0 || kk >= kc { continue }
                        let d = panel + kk * gemmMR
                        for r in 0..<gemmMR { d[r] = r < rows ? src[r * khw + tapIndex[i]] : 0 }
                    }
                }
            }
            c0 += gemmMR
        }
    }
    let buildImage: (Int, UnsafeMutablePointer<Float>) -> Void = { i, dst in
        let src = gradOutput + i * O * P
        for o in 0..<O {
            let d = dst + o * dPlane
            let s = src + o * P
            d.update(repeating: 0, count: -rowLo * DW)
            for r in 0..<OH {
                let row = d + (r - rowLo) * DW
                let sr = s + r * OW
                if OW < 64 {
                    // Short rows: plain loops beat memset/memmove calls.
                    for j in 0..<(-colLo) { row[j] = 0 }
                    let body = row - colLo
                    var j = 0
                    while j + 16 <= OW { store16(body + j, load16(sr + j)); j += 16 }
                    while j < OW { body[j] = sr[j]; j += 1 }
                    for j in OW..<colHi { body[j] = 0 }
                } else {
                    row.update(repeating: 0, count: -colLo)
                    (row - colLo).update(from: sr, count: OW)
                    (row - colLo + OW).update(repeating: 0, count: colHi - OW)
                }
            }
            (d + (OH - rowLo) * DW).update(repeating: 0, count: (rowHi - OH) * DW)
        }
    }
    // Few input channels: direct accumulation (Conv2dSmallChannels.swift). The rule's stride 1
    // gives exactly one phase with taps; were there ever more, the phase GEMM below computes them.
    if algorithm == .smallChannels && problems.count == 1 {
        smallChannelBackwardInput(problems[0], weight: weight, C: C, KH: KH, KW: KW, H: H, W: W,
                                  imgStride: prep.imgStride, build: buildImage, dx: gradInput, threads: threads)
        return
    }
    // Strided convolutions (batch ≥ threads): each worker takes whole images, in chunks; the
    // phases are computed into a phase-planar scratch and interleaved into dx row by row.
    let chunked = (sh > 1 || sw > 1) && N >= threads
    let phaseCols = phases.map { $0.gh * $0.gw }
    let maxPhaseCols = max(1, phaseCols.max() ?? 1)
    let chunk = max(1, min((N + threads - 1) / threads, (1024 + maxPhaseCols - 1) / maxPhaseCols))
    var tempOffset = [Int](repeating: 0, count: phases.count)
    var tempTotal = 0
    for i in phases.indices where phases[i].k > 0 {
        tempOffset[i] = tempTotal
        tempTotal += chunk * C * phaseCols[i]
    }
    var phaseAt = [Int](repeating: -1, count: sh * sw)
    for (i, p) in phases.enumerated() where p.k > 0 { phaseAt[p.alpha * sw + p.beta] = i }
    let body: (Int) -> Void = { t in
        var b = t
        while b < totalBlocks { aFlags.tryBuild(b) { packBlock(b) }; b += threads }
        let ws = ImplicitWorkspace(tiling: settings.tiling)
        defer { ws.free() }
        if chunked {
            let tempBuf = ScratchBuffer(tempTotal + 2 * convSlack)
            defer { tempBuf.free() }
            let tempRaw = tempBuf.p
            tempRaw.update(repeating: 0, count: convSlack)
            (tempRaw + convSlack + tempTotal).update(repeating: 0, count: convSlack)
            let temp = tempRaw + convSlack
            let iEnd = (t + 1) * N / threads
            var i0 = t * N / threads
            while i0 < iEnd {
                let cnt = min(chunk, iEnd - i0)
                var blockBase = 0
                for (qi, pr) in problems.enumerated() {
                    let pi = problemPhase[qi]
                    var sub = pr
                    sub.images = cnt
                    sub.x = pr.x + i0 * prep.imgStride
                    sub.out = temp + tempOffset[pi]
                    sub.outImg = C * phaseCols[pi]
                    sub.outChan = phaseCols[pi]
                    sub.outRow = phases[pi].gw
                    sub.outCol = 1
                    let base = blockBase
                    let first = i0
                    runImplicitGEMM(sub, c0: 0, c1: sub.columns, ws: ws,
                                    ensureA: { b in aFlags.ensure(base + b) { packBlock(base + b) } },
                                    ensureImages: { lo, hi in prep.ensure(first + lo, first + hi, buildImage) })
                    blockBase += pr.kBlocks
                }
                interleavePhases(dx: dxOut.p, images: i0..<(i0 + cnt), temp: temp, tempOffset: tempOffset,
                                 phases: phases, phaseAt: phaseAt, C: C, H: H, W: W, sh: sh, sw: sw, ph: ph, pw: pw)
                i0 += cnt
            }
            return
        }
        // Phases without taps: their dx positions are 0.
        if !emptyPhases.isEmpty {
            for i in (t * N / threads)..<((t + 1) * N / threads) {
                for ph0 in emptyPhases {
                    for c in 0..<C {
                        let plane = dxOut.p + i * imgIn + c * H * W
                        for u in 0..<ph0.gh {
                            let row = plane + (sh * (ph0.u0 + u) + ph0.alpha - ph) * W + ph0.beta - pw
                            for v in 0..<ph0.gw { row[sw * (ph0.v0 + v)] = 0 }
                        }
                    }
                }
            }
        }
        var blockBase = 0
        for pr in problems {
            let (lo, hi) = columnRange(pr.columns, t, threads)
            let base = blockBase
            runImplicitGEMM(pr, c0: lo, c1: hi, ws: ws, ensureA: { b in aFlags.ensure(base + b) { packBlock(base + b) } },
                            ensureImages: { lo, hi in prep.ensure(lo, hi, buildImage) })
            blockBase += pr.kBlocks
        }
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        parallelChunks(threads) { t in box.value(t) }
    }
}
