// Forward pass of a convolution on an explicit column matrix, for calls with few output pixels
// (`columnsMaxPixels`; in practice the single-image convolutions of the LCNN power iteration
// whose output is ResNet's 4×4 stage):
//
//   y (O × n·P) = W (O × R) · cols (R × n·P),   cols[r, i·P + p] = col(x[n₀ + i])[r, p],
//
// one GEMM per group of images (`ConvPlan`), the images' im2col matrices side by side. The
// implicit GEMM puts the batch's pixels on the 32-wide columns of its micro-tile; with one tile
// of pixels it runs on one worker at a fraction of the GEMM rate, where this GEMM splits W's O
// rows over the threads (BENCHMARKS.md, issue 17's fifth session).

/// `conv2dForward` as W · cols per group of images (see the top of this file).
func conv2dForwardViaColumns(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             output: UnsafeMutablePointer<Float>) {
    let plan = ConvPlan(g, settings: .current)
    let P = plan.P, R = plan.R, O = plan.O
    let imgIn = g.inChannels * g.inHeight * g.inWidth
    let gs = plan.groupSize
    var scratch: [ConvScratch] = []
    for _ in 0..<plan.workers {
        scratch.append(ConvScratch(colFloats: R * gs * P, tmpFloats: gs > 1 ? O * gs * P : 0))
    }
    defer { for s in scratch { s.free() } }
    let yp = SendablePointer(output)
    scratch.withUnsafeBufferPointer { sp in
        let spp = UnsafeSendableBox(sp)
        forEachGroup(g, plan) { t, n0, cnt, gt in
            let s = spp.value[t]
            let ncol = cnt * P
            for i in 0..<cnt {
                im2col(g, image: input + (n0 + i) * imgIn, into: s.col + i * P, rowStride: ncol)
            }
            let y = yp.p + n0 * O * P
            let product = cnt == 1 ? y : s.tmp
            sgemmThreads(gt, transposeA: false, transposeB: false, m: O, n: ncol, k: R, alpha: 1, a: weight,
                         lda: R, b: s.col, ldb: ncol, beta: 0, c: product, ldc: ncol, settings: plan.settings)
            if cnt > 1 { splitImagePlanes(product, into: y, images: cnt, planes: O, planeSize: P) }
        }
    }
}

/// Gathers `images` consecutive images of `planes` planes of `planeSize` floats ([n, c, p]) into
/// one matrix with the images side by side ([c, n·p]): the operand layout of a GEMM over a group.
func joinImagePlanes(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, images: Int, planes: Int,
                     planeSize: Int) {
    let width = images * planeSize
    for i in 0..<images {
        for c in 0..<planes {
            (dst + c * width + i * planeSize).update(from: src + (i * planes + c) * planeSize, count: planeSize)
        }
    }
}

/// The inverse of ``joinImagePlanes``: [c, n·p] back to [n, c, p].
func splitImagePlanes(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, images: Int, planes: Int,
                      planeSize: Int) {
    let width = images * planeSize
    for i in 0..<images {
        for c in 0..<planes {
            (dst + (i * planes + c) * planeSize).update(from: src + c * width + i * planeSize, count: planeSize)
        }
    }
}
