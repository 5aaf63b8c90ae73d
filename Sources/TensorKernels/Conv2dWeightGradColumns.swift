// Weight gradient of a convolution with few filter taps per output channel (R = C·KH·KW ≤ 16,
// e.g. the 1-channel 3×3 first layer of SmallCNN, R = 9): the implicit GEMM puts R on the 32-wide
// column side of its micro-tile, which it then fills to R/32. Here R is the row side instead:
//
//   dWᵀ (R × O) = Σₙ colsₙ (R × P) · dYₙᵀ (P × O),
//
// one GEMM per image (colsₙ the im2col matrix of image n, dYₙ its O × P output gradient read
// transposed), accumulated per thread over a contiguous range of images, then summed and
// transposed into dW (O × R). The micro-tile's rows then hold the taps (9 of 12 for R = 9) and
// its columns the output channels, full when O is a multiple of 16.

/// im2col of one image: `col[r·rowStride + p]` = x[c, oh·sh − ph + kh, ow·sw − pw + kw] (0
/// outside), r = (c·KH + kh)·KW + kw, p = oh·OW + ow; `rowStride` is P = OH·OW unless the
/// matrix holds several images side by side. The adjoint of ``col2imAdd`` for one image.
func im2col(_ g: Conv2dGeometry, image x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>,
            rowStride: Int? = nil) {
    let (H, W, sh, sw) = (g.inHeight, g.inWidth, g.strideHeight, g.strideWidth)
    let (OH, OW) = (g.outHeight, g.outWidth)
    let stride = rowStride ?? OH * OW
    forEachFilterTap(g) { c, kh, kw, r, columns in
        let row = col + r * stride
        for oh in 0..<OH {
            let ih = oh * sh - g.paddingHeight + kh
            let dst = row + oh * OW
            guard ih >= 0 && ih < H else {
                dst.update(repeating: 0, count: OW)
                continue
            }
            let src = x + (c * H + ih) * W - g.paddingWidth + kw
            for ow in 0..<columns.lowerBound { dst[ow] = 0 }
            if sw == 1 {
                (dst + columns.lowerBound).update(from: src + columns.lowerBound, count: columns.count)
            } else {
                for ow in columns { dst[ow] = src[ow * sw] }
            }
            for ow in columns.upperBound..<OW { dst[ow] = 0 }
        }
    }
}

/// Most filter taps per output channel (C·KH·KW) for which the weight gradient runs as
/// per-image column GEMMs: up to 16 taps fill at most half of the implicit GEMM's 32-wide tile
/// columns. Structural; the gain was measured at 9 taps only (SmallCNN's first layer, AVX2
/// machine, BENCHMARKS.md "third session").
let weightGradColumnsMaxTaps = 16

/// `conv2dBackwardWeight` by per-image column GEMMs (see the top of this file).
func conv2dBackwardWeightViaColumns(_ g: Conv2dGeometry, input: UnsafePointer<Float>,
                                   gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>) {
    let settings = KernelSettings.current
    let O = g.outChannels, R = g.inChannels * g.kernelHeight * g.kernelWidth
    let P = g.outHeight * g.outWidth, N = g.batch
    let imageIn = g.inChannels * g.inHeight * g.inWidth
    let threads = min(N, settings.threads(forFlops: g.directFlops))
    // Per worker: its dWᵀ accumulator (R × O), then its im2col buffer (R × P).
    let perWorker = R * O + R * P
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: threads * perWorker)
    defer { scratch.deallocate() }
    let sp = SendablePointer(scratch)
    parallelChunks(threads) { t in
        let lo = t * N / threads, hi = (t + 1) * N / threads
        let acc = sp.p + t * perWorker, col = acc + R * O
        for n in lo..<hi {   // never empty: threads ≤ N
            im2col(g, image: input + n * imageIn, into: col)
            sgemmSerial(transposeA: false, transposeB: true, m: R, n: O, k: P, alpha: 1, a: col, lda: P,
                        b: gradOutput + n * O * P, ldb: P, beta: n == lo ? 0 : 1, c: acc, ldc: O, settings: settings)
        }
    }
    for o in 0..<O {
        for r in 0..<R {
            var total: Float = 0
            for t in 0..<threads { total += scratch[t * perWorker + r * O + o] }
            gradWeight[o * R + r] = total
        }
    }
}
