// Column-matrix (im2col/col2im) backward-input pass, kept for the shapes where it beats the
// implicit phase GEMM (see `Conv2dDispatch.backwardInputRules`): images are grouped into one wide GEMM
// dcol = Wᵀ · dy per group, spread over the threads with one fork, then scattered with col2im.
// The forward pass on the same plan is in Conv2dForwardColumns.swift.

/// How a convolution call is cut into image groups and spread over threads.
struct ConvPlan {
    let P: Int, R: Int, O: Int
    let groupSize: Int      // images per GEMM
    let groupCount: Int
    let workers: Int        // threads running whole groups (1 ⇒ GEMMs are threaded instead)
    let settings: KernelSettings

    init(_ g: Conv2dGeometry, settings: KernelSettings) {
        self.settings = settings
        P = g.outHeight * g.outWidth
        R = g.inChannels * g.kernelHeight * g.kernelWidth
        O = g.outChannels
        let n = g.batch
        let threads = settings.threadCount
        // Aim for ≥ 512 GEMM columns per group, and at most ~4 M floats of column buffer.
        var size = max(1, min(n, (512 + P - 1) / max(P, 1)))
        let capByBuffer = max(1, (4 << 20) / max(1, R * P))
        size = min(size, capByBuffer)
        var count = (n + size - 1) / size
        if threads > 1 && n >= threads {
            // Make the group count a multiple of the thread count so the workers stay balanced.
            count = max(count, threads)
            count = (count + threads - 1) / threads * threads
            count = min(count, n)
            size = (n + count - 1) / count
            count = (n + size - 1) / size
        }
        groupSize = size
        groupCount = count
        let flops = 2.0 * Double(n) * Double(P) * Double(R) * Double(O)
        workers = (count >= 2 && threads >= 2 && flops >= Double(settings.gemmParallelFlops)) ? min(threads, count) : 1
    }

    /// Threads each GEMM may use.
    var gemmThreads: Int { workers > 1 ? 1 : settings.threadCount }
}

/// Raw workspace owned by one worker for one call.
struct ConvScratch {
    let col: UnsafeMutablePointer<Float>
    let tmp: UnsafeMutablePointer<Float>
    init(colFloats: Int, tmpFloats: Int) {
        col = .allocate(capacity: max(colFloats, 1))
        tmp = .allocate(capacity: max(tmpFloats, 1))
    }
    func free() {
        col.deallocate()
        tmp.deallocate()
    }
}

/// Runs `body(groupIndex, firstImage, imageCount, gemmThreads, workerIndex)` for every group,
/// with one fork when the plan uses several workers.
@inline(__always)
func forEachGroup(_ g: Conv2dGeometry, _ plan: ConvPlan,
                  _ body: (_ worker: Int, _ n0: Int, _ count: Int, _ gemmThreads: Int) -> Void) {
    let w = plan.workers
    let gt = plan.gemmThreads
    parallelChunks(w) { t in
        let lo = t * plan.groupCount / w
        let hi = (t + 1) * plan.groupCount / w
        for q in lo..<hi {
            let n0 = q * plan.groupSize
            let cnt = min(plan.groupSize, g.batch - n0)
            if cnt > 0 { body(t, n0, cnt, gt) }
        }
    }
}

/// Calls `body(c, kh, kw, r, columns)` for every filter tap r = (c·KH + kh)·KW + kw, with the
/// output columns ow whose input column ow·sw − pw + kw lies inside the image (im2col and col2im
/// touch only these; the others read padding).
@inline(__always)
func forEachFilterTap(_ g: Conv2dGeometry, _ body: (_ c: Int, _ kh: Int, _ kw: Int, _ r: Int, _ columns: Range<Int>) -> Void) {
    let (W, OW, sw, pw) = (g.inWidth, g.outWidth, g.strideWidth, g.paddingWidth)
    for c in 0..<g.inChannels {
        for kh in 0..<g.kernelHeight {
            for kw in 0..<g.kernelWidth {
                let low = min(OW, max(0, (pw - kw + sw - 1) / sw))
                let high = max(low, min(OW, (W - 1 + pw - kw) >= 0 ? (W - 1 + pw - kw) / sw + 1 : 0))
                body(c, kh, kw, (c * g.kernelHeight + kh) * g.kernelWidth + kw, low..<high)
            }
        }
    }
}

/// col2im: dx[n] += scatter(col) for `count` images (exact adjoint of `im2col`); dx must be
/// initialised by the caller.
func col2imAdd(_ g: Conv2dGeometry, col: UnsafePointer<Float>, count: Int, dx: UnsafeMutablePointer<Float>) {
    let (C, H, W, sh, sw) = (g.inChannels, g.inHeight, g.inWidth, g.strideHeight, g.strideWidth)
    let (OH, OW) = (g.outHeight, g.outWidth), P = OH * OW
    forEachFilterTap(g) { c, kh, kw, r, columns in
        let row = col + r * count * P
        for i in 0..<count {
            let plane = dx + (i * C + c) * H * W
            let srcImg = row + i * P
            for oh in 0..<OH {
                let ih = oh * sh - g.paddingHeight + kh
                if ih < 0 || ih >= H { continue }
                let s = srcImg + oh * OW
                let d = plane + ih * W - g.paddingWidth + kw
                if sw == 1 {
                    for ow in columns { d[ow] += s[ow] }
                } else {
                    for ow in columns { d[ow * sw] += s[ow] }
                }
            }
        }
    }
}

/// `conv2dBackwardInput` as dcol = Wᵀ · dy (M = R = C·KH·KW rows) followed by col2im: better
/// than the implicit phase GEMM when C is small (its M would fill few micro-tile rows) or for
/// strided 1×1 kernels (3/4 of dx is zero).
func conv2dBackwardInputViaColumns(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
    let plan = ConvPlan(g, settings: .current)
    let P = plan.P, R = plan.R, O = plan.O
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    if g.batch <= 0 || imgIn <= 0 { return }
    if P <= 0 || O <= 0 {
        gradInput.update(repeating: 0, count: g.batch * imgIn)
        return
    }
    let dxp = SendablePointer(gradInput)
    let direct = g.kernelHeight == 1 && g.kernelWidth == 1 && g.strideHeight == 1 && g.strideWidth == 1
        && g.paddingHeight == 0 && g.paddingWidth == 0
    let gs = plan.groupSize
    var scratch: [ConvScratch] = []
    for _ in 0..<plan.workers {
        scratch.append(ConvScratch(colFloats: direct && gs == 1 ? 0 : R * gs * P, tmpFloats: gs > 1 ? O * gs * P : 0))
    }
    defer { for s in scratch { s.free() } }
    scratch.withUnsafeBufferPointer { sp in
        let spp = UnsafeSendableBox(sp)
        forEachGroup(g, plan) { t, n0, cnt, gt in
            let s = spp.value[t]
            let dx = dxp.p + n0 * imgIn
            let dy = gradOutput + n0 * O * P
            let ncol = cnt * P
            let b: UnsafePointer<Float>
            if cnt == 1 {
                b = dy
            } else {
                joinImagePlanes(dy, into: s.tmp, images: cnt, planes: O, planeSize: P)
                b = UnsafePointer(s.tmp)
            }
            if direct && cnt == 1 {
                sgemmThreads(gt, transposeA: true, transposeB: false, m: R, n: P, k: O, alpha: 1, a: weight,
                             lda: R, b: b, ldb: P, beta: 0, c: dx, ldc: P, settings: plan.settings)
                return
            }
            sgemmThreads(gt, transposeA: true, transposeB: false, m: R, n: ncol, k: O, alpha: 1, a: weight,
                         lda: R, b: b, ldb: ncol, beta: 0, c: s.col, ldc: ncol, settings: plan.settings)
            dx.update(repeating: 0, count: cnt * imgIn)
            col2imAdd(g, col: s.col, count: cnt, dx: dx)
        }
    }
}

