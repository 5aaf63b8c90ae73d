// 2-D convolution (NCHW, OIHW weights, groups = 1, no bias) as implicit GEMMs.
//
// Notation: P = OH·OW output pixels per image, R = C·KH·KW. For an image n the (never
// materialised) column matrix is
//   col[(c·KH + kh)·KW + kw, oh·OW + ow] = x[n, c, oh·sh − ph + kh, ow·sw − pw + kw]
// (zero where the input index falls in the padding), so that
//   forward:          y[n] (O×P) = W (O×R) · col(x[n]) (R×P)
//   backward-input:   dx[n] = col2im(Wᵀ · dy[n])             (col2im = adjoint of im2col)
//   backward-weight:  dW = Σₙ dy[n] (O×P) · col(x[n])ᵀ (P×R)
//
// Forward: the input is copied once into a zero-padded, phase-split buffer
//   X[n, c, a, b, i, j] = x[n, c, a + sh·i − ph, b + sw·j − pw]   (a < sh, b < sw),
// in which col[(c, kh, kw), (oh, ow)] = X[n, c, kh mod sh, kw mod sw, oh + ⌊kh/sh⌋, ow + ⌊kw/sw⌋]:
// every row of col is a fixed offset into X and consecutive ow are consecutive floats, so the
// packed B panels of the GEMM are gathered straight from X (Conv2dImplicitGEMM.swift).
// Backward-input is computed per output phase (α, β) = ((ih + ph) mod sh, (iw + pw) mod sw):
//   dx[n, c, sh·u + α − ph, sw·v + β − pw] = Σ_{o, t, s} w[o, c, α + sh·t, β + sw·s] · dy[n, o, u − t, v − s],
// a stride-1 convolution of the zero-padded dy with the flipped, transposed sub-kernel, through the
// same implicit GEMM (one phase when the stride is 1). Backward-weight contracts over the pixels
// with both operands gathered and transposed on the fly (Conv2dWeightGrad.swift).
// Every call forks at most once; workers split the GEMM columns (or K / R for the weight gradient).


/// Shape of a 2-D convolution: input [N, C, H, W], weight [O, C, KH, KW], output [N, O, OH, OW]
/// with OH = ⌊(H + 2·ph − KH) / sh⌋ + 1 and OW = ⌊(W + 2·pw − KW) / sw⌋ + 1.
public struct Conv2dGeometry: Sendable, Hashable {
    public var batch: Int
    public var inChannels: Int
    public var inHeight: Int
    public var inWidth: Int
    public var outChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var paddingHeight: Int
    public var paddingWidth: Int

    /// Memberwise initializer; strides default to 1 and paddings to 0.
    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                paddingHeight: Int = 0, paddingWidth: Int = 0) {
        self.batch = batch
        self.inChannels = inChannels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.paddingHeight = paddingHeight
        self.paddingWidth = paddingWidth
    }

    /// OH = ⌊(H + 2·ph − KH) / sh⌋ + 1.
    public var outHeight: Int { (inHeight + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
    /// OW = ⌊(W + 2·pw − KW) / sw⌋ + 1.
    public var outWidth: Int { (inWidth + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }
    /// 2·N·O·OH·OW·C·KH·KW: the multiply-adds of the direct algorithm, counted as FLOPs for the
    /// forward pass and each of the two backward passes whichever algorithm runs.
    public var directFlops: Double {
        2 * Double(batch * outChannels) * Double(outHeight * outWidth) * Double(inChannels * kernelHeight * kernelWidth)
    }
}

/// A per-call buffer of `images` prepared images (`imgStride` floats each) with `convSlack` zero
/// floats on both sides, built on demand by `build(image, dst)`.
struct PreparedImages {
    let buf: ScratchBuffer
    let x: UnsafeMutablePointer<Float>
    let imgStride: Int
    let images: Int
    let flags: OnceFlags

    init(images: Int, imgStride: Int) {
        self.images = images
        self.imgStride = imgStride
        let total = images * imgStride + 2 * convSlack
        buf = ScratchBuffer(total)
        let raw = buf.p
        raw.update(repeating: 0, count: convSlack)
        (raw + convSlack + images * imgStride).update(repeating: 0, count: convSlack)
        x = raw + convSlack
        flags = OnceFlags(images)
    }

    func free() {
        buf.free()
        flags.free()
    }

    @inline(__always)
    func ensure(_ lo: Int, _ hi: Int, _ build: (Int, UnsafeMutablePointer<Float>) -> Void) {
        for i in max(lo, 0)..<min(hi, images) {
            flags.ensure(i) { build(i, x + i * imgStride) }
        }
    }
}

/// Layout of the forward pass's prepared input: per image [C][phA][phB][Hq][Wq].
struct ForwardInputLayout {
    let phA: Int, phB: Int, Hq: Int, Wq: Int
    let C: Int, H: Int, W: Int, sh: Int, sw: Int, ph: Int, pw: Int

    init(_ g: Conv2dGeometry) {
        C = g.inChannels; H = g.inHeight; W = g.inWidth
        sh = g.strideHeight; sw = g.strideWidth; ph = g.paddingHeight; pw = g.paddingWidth
        phA = min(sh, g.kernelHeight)
        phB = min(sw, g.kernelWidth)
        // Rows a + sh·i of the padded input, i < Hq, cover every oh·sh + kh.
        let needH = (g.outHeight - 1) * sh + g.kernelHeight
        let needW = (g.outWidth - 1) * sw + g.kernelWidth
        Hq = ceilDiv(max(needH, 1), sh)
        Wq = ceilDiv(max(needW, 1), sw)
    }

    var plane: Int { Hq * Wq }
    var imgStride: Int { C * phA * phB * plane }

    /// Offset of GEMM row (c, kh, kw) in a prepared image.
    func rowOffset(c: Int, kh: Int, kw: Int) -> Int {
        ((c * phA + kh % sh) * phB + kw % sw) * plane + (kh / sh) * Wq + kw / sw
    }

    /// Writes the prepared form of one input image `src` [C, H, W] into `dst`.
    func build(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        for c in 0..<C {
            let s = src + c * H * W
            for a in 0..<phA {
                for b in 0..<phB {
                    let d = dst + ((c * phA + a) * phB + b) * plane
                    // Valid j: 0 ≤ b + sw·j − pw < W.
                    let jLo = min(Wq, max(0, ceilDiv(pw - b, sw)))
                    let jHi = max(jLo, min(Wq, floorDiv(W - 1 + pw - b, sw) + 1))
                    for i in 0..<Hq {
                        let y = a + sh * i - ph
                        let row = d + i * Wq
                        if y < 0 || y >= H {
                            if Wq < 32 {
                                for j in 0..<Wq { row[j] = 0 }
                            } else {
                                row.update(repeating: 0, count: Wq)
                            }
                            continue
                        }
                        let sr = s + y * W + b - pw
                        if Wq < 32 {
                            // Short rows: plain loops beat memset/memmove calls.
                            for j in 0..<jLo { row[j] = 0 }
                            for j in jLo..<jHi { row[j] = sr[j * sw] }
                            for j in jHi..<Wq { row[j] = 0 }
                            continue
                        }
                        if jLo > 0 { row.update(repeating: 0, count: jLo) }
                        if sw == 1 {
                            (row + jLo).update(from: sr + jLo, count: jHi - jLo)
                        } else if sw == 2 {
                            // Even lanes of 32 consecutive floats, while they stay inside the row.
                            var j = jLo
                            let rowEnd = s + (y + 1) * W
                            while j + 16 <= jHi && sr + 2 * j + 32 <= rowEnd {
                                let a = load16(sr + 2 * j), b = load16(sr + 2 * j + 16)
                                store16(row + j, evenLanes(a, b))
                                j += 16
                            }
                            while j < jHi { row[j] = sr[2 * j]; j += 1 }
                        } else {
                            for j in jLo..<jHi { row[j] = sr[j * sw] }
                        }
                        if jHi < Wq { (row + jHi).update(repeating: 0, count: Wq - jHi) }
                    }
                }
            }
        }
    }
}

/// The even lanes of a followed by the even lanes of b.
@inline(__always)
func evenLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
}

/// The odd lanes of a followed by the odd lanes of b.
@inline(__always)
func oddLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15])
}

/// Splits `columns` GEMM columns into `threads` ranges of whole 32-column panels.
@inline(__always)
func columnRange(_ columns: Int, _ t: Int, _ threads: Int) -> (Int, Int) {
    let panels = (columns + gemmNR - 1) / gemmNR
    let lo = min(columns, (t * panels / threads) * gemmNR)
    let hi = min(columns, ((t + 1) * panels / threads) * gemmNR)
    return (lo, hi)
}

/// Convolution forward pass (cross-correlation, as in PyTorch):
///
///   y[n, o, oh, ow] = Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw],
///
/// with out-of-range input positions read as 0. `input` is [N, C, H, W], `weight` [O, C, KH, KW];
/// `output` [N, O, OH, OW] is overwritten (never read). Implicit GEMM on both cores.
public func conv2dForward(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          output: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open(g.batch == 1 ? "conv2d_forward_single" : "conv2d_forward", flops: g.directFlops)
    defer { span?.close() }
    let settings = KernelSettings.current
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW, O = g.outChannels
    let R = g.inChannels * g.kernelHeight * g.kernelWidth
    let N = g.batch
    if N <= 0 || OH <= 0 || OW <= 0 || O <= 0 { return }
    if R <= 0 {
        output.update(repeating: 0, count: N * O * P)
        return
    }
    if winogradApplies(g) {
        conv2dForwardWinograd(g, input: input, weight: weight, output: output)
        return
    }
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

/// Gradient of `conv2dForward` with respect to its input (a transposed convolution):
///
///   dx[n, c, ih, iw] = Σ_{o, kh, kw, oh, ow : oh·sh − ph + kh = ih, ow·sw − pw + kw = iw}
///                        w[o, c, kh, kw] · dy[n, o, oh, ow],
///
/// i.e. dx = col2im(Wᵀ · dy), the exact adjoint: ⟨conv(x), dy⟩ = ⟨x, dx⟩. `gradOutput` is
/// [N, O, OH, OW]; `gradInput` [N, C, H, W] is overwritten (input pixels no window touches get 0).
public func conv2dBackwardInput(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open(g.batch == 1 ? "conv2d_backward_input_single" : "conv2d_backward_input", flops: g.directFlops)
    defer { span?.close() }
    let settings = KernelSettings.current
    let C = g.inChannels, H = g.inHeight, W = g.inWidth
    let KH = g.kernelHeight, KW = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
    let ph = g.paddingHeight, pw = g.paddingWidth
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW, O = g.outChannels
    let N = g.batch
    let imgIn = C * H * W
    if N <= 0 || imgIn <= 0 { return }
    if OH <= 0 || OW <= 0 || O <= 0 {
        gradInput.update(repeating: 0, count: N * imgIn)
        return
    }
    if winogradApplies(g) {
        conv2dBackwardInputWinograd(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
        return
    }
    if C == 1 || (C > 4 && C < 48 && KH * KW > 1) || (KH == 1 && KW == 1 && (sh > 1 || sw > 1)) {
        conv2dBackwardInputViaColumns(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
        return
    }
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
    if sh == 1 && sw == 1 && C <= 4 && problems.count == 1 {
        // Few input channels: direct accumulation (Conv2dSmallChannels.swift).
        let k = problems[0].k
        let a4 = UnsafeMutablePointer<Float>.allocate(capacity: 4 * k)
        defer { a4.deallocate() }
        let khw = KH * KW
        for kk in 0..<k {
            let o = kk / khw, tap = kk - o * khw
            for c in 0..<4 { a4[4 * kk + c] = c < C ? weight[(o * C + c) * khw + tap] : 0 }
        }
        smallChannelBackwardInput(problems[0], C: C, H: H, W: W, a4: a4, imgStride: prep.imgStride, build: buildImage,
                                  dx: gradInput, threads: threads)
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

@inline(__always)
func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }

/// Writes dx for `images` from the phase-planar scratch of one chunk: phase p of local image li,
/// channel c, grid row u', column v' is at temp[tempOffset[p] + ((li·C + c)·gh + u')·gw + v'].
/// Phases missing from `phaseAt` (no taps) contribute zeros.
func interleavePhases(dx: UnsafeMutablePointer<Float>, images: Range<Int>, temp: UnsafePointer<Float>,
                      tempOffset: [Int], phases: [BackwardInputPhase], phaseAt: [Int], C: Int, H: Int, W: Int,
                      sh: Int, sw: Int, ph: Int, pw: Int) {
    // Row range per α and column range per β (shared by all phases with that α / β).
    var u0 = [Int](repeating: 0, count: sh), gh = [Int](repeating: 0, count: sh)
    var v0 = [Int](repeating: 0, count: sw), gw = [Int](repeating: 0, count: sw)
    for q in phases {
        u0[q.alpha] = q.u0; gh[q.alpha] = q.gh
        v0[q.beta] = q.v0; gw[q.beta] = q.gw
    }
    let zeros = SIMD16<Float>()
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: sw) { srcBuf in
        let src = srcBuf.baseAddress!
        for (li, i) in images.enumerated() {
            for c in 0..<C {
                let plane = dx + (i * C + c) * H * W
                for a in 0..<sh where gh[a] > 0 {
                    // src[b] + v = phase (a, b) value at global column v of grid row 0.
                    for b in 0..<sw {
                        let p = phaseAt[a * sw + b]
                        src[b] = p < 0 ? nil : temp + tempOffset[p] + (li * C + c) * gh[a] * gw[b] - v0[b]
                    }
                    for r in 0..<gh[a] {
                        let dst = plane + (sh * (u0[a] + r) + a - ph) * W
                        if sw == 2 {
                            // dx[2m + e] = src[β_e][m + d_e], β_e = (e + pw) mod 2, d_e = (e + pw − β_e) / 2.
                            let b0 = pw % 2, b1 = (1 + pw) % 2
                            let d0 = (pw - b0) / 2, d1 = (1 + pw - b1) / 2
                            let s0 = src[b0].map { $0 + r * gw[b0] + d0 }
                            let s1 = src[b1].map { $0 + r * gw[b1] + d1 }
                            var m = 0
                            while 2 * m + 32 <= W {
                                let x0 = s0.map { load16($0 + m) } ?? zeros
                                let x1 = s1.map { load16($0 + m) } ?? zeros
                                store16(dst + 2 * m, zipLow(x0, x1))
                                store16(dst + 2 * m + 16, zipHigh(x0, x1))
                                m += 16
                            }
                            if 2 * m + 16 <= W {
                                let x0 = s0.map { load16($0 + m) } ?? zeros
                                let x1 = s1.map { load16($0 + m) } ?? zeros
                                store16(dst + 2 * m, zipLow(x0, x1))
                                m += 8
                            }
                            if 2 * m + 8 <= W {
                                let x0 = s0.map { load4($0 + m) } ?? SIMD4<Float>()
                                let x1 = s1.map { load4($0 + m) } ?? SIMD4<Float>()
                                UnsafeMutableRawPointer(dst + 2 * m).storeBytes(
                                    of: SIMD8<Float>(x0[0], x1[0], x0[1], x1[1], x0[2], x1[2], x0[3], x1[3]),
                                    as: SIMD8<Float>.self)
                                m += 4
                            }
                            var iw = 2 * m
                            while iw < W {
                                let sp = iw & 1 == 0 ? s0 : s1
                                dst[iw] = sp.map { $0[iw / 2] } ?? 0
                                iw += 1
                            }
                        } else {
                            for iw in 0..<W {
                                let b = (iw + pw) % sw
                                let v = (iw + pw - b) / sw
                                dst[iw] = src[b].map { $0[r * gw[b] + v] } ?? 0
                            }
                        }
                    }
                }
            }
        }
    }
}

extension ForwardInputLayout {
    /// The offset of every GEMM row (c, kh, kw), in row order, into the prepared input of one
    /// image: the table both the forward pass and the weight gradient gather panels with.
    /// The caller deallocates it.
    func rowOffsetTable(_ g: Conv2dGeometry) -> UnsafeMutablePointer<Int> {
        let rows = g.inChannels * g.kernelHeight * g.kernelWidth
        let table = UnsafeMutablePointer<Int>.allocate(capacity: max(rows, 1))
        for c in 0..<g.inChannels {
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    table[(c * g.kernelHeight + kh) * g.kernelWidth + kw] = rowOffset(c: c, kh: kh, kw: kw)
                }
            }
        }
        return table
    }
}
