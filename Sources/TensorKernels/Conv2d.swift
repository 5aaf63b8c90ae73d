// 2-D convolution (NCHW, OIHW weights, groups = 1, no bias) via im2col / col2im + sgemm.
//
// Notation: P = OH·OW output pixels per image, R = C·KH·KW rows of the column matrix.
// For an image n the column matrix is
//   col[(c·KH + kh)·KW + kw, oh·OW + ow] = x[n, c, oh·sh − ph + kh, ow·sw − pw + kw]
// (zero where the input index falls in the padding), so that
//   forward:          y[n] (O×P) = W (O×R) · col(x[n]) (R×P)
//   backward-input:   dx[n] = col2im(Wᵀ · dy[n])             (col2im = adjoint of im2col)
//   backward-weight:  dW = Σₙ dy[n] (O×P) · col(x[n])ᵀ (P×R)
// Several images are handled as one wider GEMM ("group") when P is small, and groups are spread
// over the threads with one fork per call; a 1×1, stride-1, unpadded convolution skips im2col.

import Foundation

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

    /// True for a 1×1, stride-1, unpadded convolution, where col(x[n]) is x[n] itself.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1
            && paddingHeight == 0 && paddingWidth == 0
    }
}

/// How a convolution call is cut into image groups and spread over threads.
struct ConvPlan {
    let P: Int, R: Int, O: Int
    let groupSize: Int      // images per GEMM
    let groupCount: Int
    let workers: Int        // threads running whole groups (1 ⇒ GEMMs are threaded instead)

    init(_ g: Conv2dGeometry) {
        P = g.outHeight * g.outWidth
        R = g.inChannels * g.kernelHeight * g.kernelWidth
        O = g.outChannels
        let n = g.batch
        let threads = max(1, KernelThreads.count)
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
        workers = (count >= 2 && threads >= 2 && flops >= Double(gemmParallelFlops)) ? min(threads, count) : 1
    }

    /// Threads each GEMM may use.
    var gemmThreads: Int { workers > 1 ? 1 : max(1, KernelThreads.count) }
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

/// im2col for `count` images starting at `x` (image stride C·H·W) into col [R, count·P].
func im2col(_ g: Conv2dGeometry, x: UnsafePointer<Float>, count: Int, col: UnsafeMutablePointer<Float>) {
    let C = g.inChannels, H = g.inHeight, W = g.inWidth
    let KH = g.kernelHeight, KW = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
    let ph = g.paddingHeight, pw = g.paddingWidth
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW
    let ld = count * P
    for c in 0..<C {
        for kh in 0..<KH {
            for kw in 0..<KW {
                let row = col + ((c * KH + kh) * KW + kw) * ld
                // Valid ow range: 0 ≤ ow·sw − pw + kw < W.
                let owLo = min(OW, max(0, (pw - kw + sw - 1) / sw))
                let owHi = max(owLo, min(OW, (W - 1 + pw - kw) >= 0 ? (W - 1 + pw - kw) / sw + 1 : 0))
                for i in 0..<count {
                    let plane = x + (i * C + c) * H * W
                    let dstImg = row + i * P
                    for oh in 0..<OH {
                        let ih = oh * sh - ph + kh
                        let d = dstImg + oh * OW
                        if ih < 0 || ih >= H {
                            d.update(repeating: 0, count: OW)
                            continue
                        }
                        for ow in 0..<owLo { d[ow] = 0 }
                        let s = plane + ih * W - pw + kw
                        if sw == 1 {
                            (d + owLo).update(from: s + owLo, count: owHi - owLo)
                        } else {
                            for ow in owLo..<owHi { d[ow] = s[ow * sw] }
                        }
                        for ow in owHi..<OW { d[ow] = 0 }
                    }
                }
            }
        }
    }
}

/// col2im: dx[n] += scatter(col) for `count` images (exact adjoint of `im2col`); dx must be
/// initialised by the caller.
func col2imAdd(_ g: Conv2dGeometry, col: UnsafePointer<Float>, count: Int, dx: UnsafeMutablePointer<Float>) {
    let C = g.inChannels, H = g.inHeight, W = g.inWidth
    let KH = g.kernelHeight, KW = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
    let ph = g.paddingHeight, pw = g.paddingWidth
    let OH = g.outHeight, OW = g.outWidth, P = OH * OW
    let ld = count * P
    for c in 0..<C {
        for kh in 0..<KH {
            for kw in 0..<KW {
                let row = col + ((c * KH + kh) * KW + kw) * ld
                let owLo = min(OW, max(0, (pw - kw + sw - 1) / sw))
                let owHi = max(owLo, min(OW, (W - 1 + pw - kw) >= 0 ? (W - 1 + pw - kw) / sw + 1 : 0))
                for i in 0..<count {
                    let plane = dx + (i * C + c) * H * W
                    let srcImg = row + i * P
                    for oh in 0..<OH {
                        let ih = oh * sh - ph + kh
                        if ih < 0 || ih >= H { continue }
                        let s = srcImg + oh * OW
                        let d = plane + ih * W - pw + kw
                        if sw == 1 {
                            for ow in owLo..<owHi { d[ow] += s[ow] }
                        } else {
                            for ow in owLo..<owHi { d[ow * sw] += s[ow] }
                        }
                    }
                }
            }
        }
    }
}

/// Convolution forward pass (cross-correlation, as in PyTorch):
///
///   y[n, o, oh, ow] = Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw],
///
/// with out-of-range input positions read as 0. `input` is [N, C, H, W], `weight` [O, C, KH, KW];
/// `output` [N, O, OH, OW] is overwritten (never read). Uses im2col + `sgemm`, both cores.
public func conv2dForward(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          output: UnsafeMutablePointer<Float>) {
    let plan = ConvPlan(g)
    let P = plan.P, R = plan.R, O = plan.O
    if g.batch <= 0 || P <= 0 || O <= 0 { return }
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    let out = SendablePointer(output)
    let direct = g.isPointwise
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
            let x = input + n0 * imgIn
            let ncol = cnt * P
            let b: UnsafePointer<Float>
            if direct && cnt == 1 {
                b = x
            } else {
                im2col(g, x: x, count: cnt, col: s.col)
                b = UnsafePointer(s.col)
            }
            let y = out.p + n0 * O * P
            if cnt == 1 {
                sgemmThreads(gt, transposeA: false, transposeB: false, m: O, n: P, k: R, alpha: 1, a: weight,
                             lda: R, b: b, ldb: P, beta: 0, c: y, ldc: P)
            } else {
                sgemmThreads(gt, transposeA: false, transposeB: false, m: O, n: ncol, k: R, alpha: 1,
                             a: weight, lda: R, b: b, ldb: ncol, beta: 0, c: s.tmp, ldc: ncol)
                // tmp [O, cnt·P] → y [cnt, O, P]
                for i in 0..<cnt {
                    for o in 0..<O {
                        (y + (i * O + o) * P).update(from: s.tmp + o * ncol + i * P, count: P)
                    }
                }
            }
        }
    }
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
    let plan = ConvPlan(g)
    let P = plan.P, R = plan.R, O = plan.O
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    if g.batch <= 0 || imgIn <= 0 { return }
    if P <= 0 || O <= 0 {
        gradInput.update(repeating: 0, count: g.batch * imgIn)
        return
    }
    let dxp = SendablePointer(gradInput)
    let direct = g.isPointwise
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
                // dy [cnt, O, P] → tmp [O, cnt·P]
                for i in 0..<cnt {
                    for o in 0..<O {
                        (s.tmp + o * ncol + i * P).update(from: dy + (i * O + o) * P, count: P)
                    }
                }
                b = UnsafePointer(s.tmp)
            }
            if direct && cnt == 1 {
                sgemmThreads(gt, transposeA: true, transposeB: false, m: R, n: P, k: O, alpha: 1, a: weight,
                             lda: R, b: b, ldb: P, beta: 0, c: dx, ldc: P)
                return
            }
            sgemmThreads(gt, transposeA: true, transposeB: false, m: R, n: ncol, k: O, alpha: 1, a: weight,
                         lda: R, b: b, ldb: ncol, beta: 0, c: s.col, ldc: ncol)
            dx.update(repeating: 0, count: cnt * imgIn)
            col2imAdd(g, col: s.col, count: cnt, dx: dx)
        }
    }
}

/// Gradient of `conv2dForward` with respect to its weight, summed over the batch:
///
///   dW[o, c, kh, kw] = Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, oh·sh − ph + kh, ow·sw − pw + kw],
///
/// i.e. dW = Σₙ dy[n] · col(x[n])ᵀ, so that ⟨conv(x; W), dy⟩ = ⟨W, dW⟩. `gradWeight`
/// [O, C, KH, KW] is overwritten.
public func conv2dBackwardWeight(_ g: Conv2dGeometry, input: UnsafePointer<Float>,
                                 gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>) {
    let plan = ConvPlan(g)
    let P = plan.P, R = plan.R, O = plan.O
    if O <= 0 || R <= 0 { return }
    if g.batch <= 0 || P <= 0 {
        gradWeight.update(repeating: 0, count: O * R)
        return
    }
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    let direct = g.isPointwise
    let gs = plan.groupSize
    let w = plan.workers
    // Worker 0 accumulates straight into gradWeight; the others into private O×R partials.
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: max(1, (w - 1) * O * R))
    defer { partials.deallocate() }
    let dwp = SendablePointer(gradWeight)
    let pp = SendablePointer(partials)
    var scratch: [ConvScratch] = []
    for _ in 0..<w {
        scratch.append(ConvScratch(colFloats: direct && gs == 1 ? 0 : R * gs * P, tmpFloats: gs > 1 ? O * gs * P : 0))
    }
    defer { for s in scratch { s.free() } }
    var started = [Bool](repeating: false, count: w)
    started.withUnsafeMutableBufferPointer { st in
        let stp = UnsafeSendableBox(st)
        scratch.withUnsafeBufferPointer { sp in
            let spp = UnsafeSendableBox(sp)
            forEachGroup(g, plan) { t, n0, cnt, gt in
                let s = spp.value[t]
                let dw = t == 0 ? dwp.p : pp.p + (t - 1) * O * R
                let x = input + n0 * imgIn
                let dy = gradOutput + n0 * O * P
                let ncol = cnt * P
                let a: UnsafePointer<Float>
                if cnt == 1 {
                    a = dy
                } else {
                    for i in 0..<cnt {
                        for o in 0..<O {
                            (s.tmp + o * ncol + i * P).update(from: dy + (i * O + o) * P, count: P)
                        }
                    }
                    a = UnsafePointer(s.tmp)
                }
                let b: UnsafePointer<Float>
                if direct && cnt == 1 {
                    b = x
                } else {
                    im2col(g, x: x, count: cnt, col: s.col)
                    b = UnsafePointer(s.col)
                }
                let first = !stp.value[t]
                stp.value[t] = true
                // dW (O×R) += A (O×ncol) · colᵀ, colᵀ[p, r] = col[r·ncol + p].
                sgemmThreads(gt, transposeA: false, transposeB: true, m: O, n: R, k: ncol, alpha: 1, a: a,
                             lda: ncol, b: b, ldb: ncol, beta: first ? 0 : 1, c: dw, ldc: R)
            }
        }
    }
    if !started[0] { gradWeight.update(repeating: 0, count: O * R) }
    for t in 1..<max(w, 1) where started[t] {
        let src = partials + (t - 1) * O * R
        for i in 0..<(O * R) { gradWeight[i] += src[i] }
    }
}
