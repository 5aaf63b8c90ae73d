// Packing of GEMM operands into the micro-panel layouts read by the micro-kernel.
//
// Packed A block (mc × kc): ⌈mc/12⌉ micro-panels; panel q holds, for each p < kc, the 12 values
//   alpha · op(A)[i0 + 12q + r, p0 + p], r = 0..<12 (zero beyond the block's last row),
// at offset (q·kc + p)·12 + r.
// Packed B block (kc × nc): ⌈nc/32⌉ micro-panels; panel q holds, for each p < kc, the 32 values
//   op(B)[p0 + p, j0 + 32q + j], j = 0..<32 (zero beyond the block's last column),
// at offset (q·kc + p)·32 + j.

/// Rows of C per micro-tile (A values broadcast per k step).
@usableFromInline let gemmMR = 12
/// Columns of C per micro-tile (two SIMD16 vectors).
@usableFromInline let gemmNR = 32

/// Packs the `mc × kc` block of alpha·op(A) starting at (i0, p0); op(A)[i, p] is
/// `a[i·lda + p]`, or `a[p·lda + i]` when `transpose`.
@inline(__always)
func packA(transpose: Bool, a: UnsafePointer<Float>, lda: Int, i0: Int, mc: Int, p0: Int, kc: Int,
           alpha: Float, into dst: UnsafeMutablePointer<Float>) {
    var q = 0
    var i = 0
    while i < mc {
        let rows = min(gemmMR, mc - i)
        let panel = dst + q * kc * gemmMR
        if transpose {
            // op(A)[i+r, p] = a[(p0+p)·lda + i0+i+r]: 12 contiguous floats per k step.
            var src = a + p0 * lda + i0 + i
            if rows == gemmMR {
                for p in 0..<kc {
                    let d = panel + p * gemmMR
                    for r in 0..<gemmMR { d[r] = alpha * src[r] }
                    src += lda
                }
            } else {
                for p in 0..<kc {
                    let d = panel + p * gemmMR
                    for r in 0..<rows { d[r] = alpha * src[r] }
                    for r in rows..<gemmMR { d[r] = 0 }
                    src += lda
                }
            }
        } else {
            // op(A)[i+r, p] = a[(i0+i+r)·lda + p0+p]: one contiguous source row per r.
            for r in 0..<rows {
                let src = a + (i0 + i + r) * lda + p0
                var d = panel + r
                for p in 0..<kc {
                    d.pointee = alpha * src[p]
                    d += gemmMR
                }
            }
            if rows < gemmMR {
                for p in 0..<kc {
                    let d = panel + p * gemmMR
                    for r in rows..<gemmMR { d[r] = 0 }
                }
            }
        }
        i += gemmMR
        q += 1
    }
}

/// Packs the `kc × nc` block of op(B) starting at (p0, j0); op(B)[p, j] is `b[p·ldb + j]`,
/// or `b[j·ldb + p]` when `transpose`.
@inline(__always)
func packB(transpose: Bool, b: UnsafePointer<Float>, ldb: Int, p0: Int, kc: Int, j0: Int, nc: Int,
           into dst: UnsafeMutablePointer<Float>) {
    if !transpose {
        packBRows(b: b, ldb: ldb, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
        return
    }
    var q = 0
    var j = 0
    while j < nc {
        let cols = min(gemmNR, nc - j)
        let panel = dst + q * kc * gemmNR
        if transpose {
            packBTransposedPanel(b: b, ldb: ldb, p0: p0, kc: kc, j: j0 + j, cols: cols, panel: panel)
        } else {
            var src = b + p0 * ldb + j0 + j
            if cols == gemmNR {
                var d = UnsafeMutableRawPointer(panel)
                for _ in 0..<kc {
                    let s = UnsafeRawPointer(src)
                    d.storeBytes(of: s.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                 toByteOffset: 64, as: SIMD16<Float>.self)
                    d += gemmNR * 4
                    src += ldb
                }
            } else {
                for p in 0..<kc {
                    let d = panel + p * gemmNR
                    for c in 0..<cols { d[c] = src[c] }
                    for c in cols..<gemmNR { d[c] = 0 }
                    src += ldb
                }
            }
        }
        j += gemmNR
        q += 1
    }
}

/// Transposed B panel: op(B)[p, j+c] = b[(j+c)·ldb + p]. Works in 8-step slabs of p so the 32
/// source rows stay in L1 while the destination is written contiguously.
@inline(__always)
func packBTransposedPanel(b: UnsafePointer<Float>, ldb: Int, p0: Int, kc: Int, j: Int, cols: Int,
                          panel: UnsafeMutablePointer<Float>) {
    let src = b + j * ldb + p0
    var p = 0
    while p + 8 <= kc {
        let d = panel + p * gemmNR
        for c in 0..<cols {
            let s = src + c * ldb + p
            d[c] = s[0]
            d[gemmNR + c] = s[1]
            d[2 * gemmNR + c] = s[2]
            d[3 * gemmNR + c] = s[3]
            d[4 * gemmNR + c] = s[4]
            d[5 * gemmNR + c] = s[5]
            d[6 * gemmNR + c] = s[6]
            d[7 * gemmNR + c] = s[7]
        }
        p += 8
    }
    while p < kc {
        let d = panel + p * gemmNR
        for c in 0..<cols { d[c] = src[c * ldb + p] }
        p += 1
    }
    if cols < gemmNR {
        for p in 0..<kc {
            let d = panel + p * gemmNR
            for c in cols..<gemmNR { d[c] = 0 }
        }
    }
}

/// Non-transposed B block, traversed row by row: each source row segment
/// b[(p0+p)·ldb + j0 ..< +nc] is read contiguously (prefetch-friendly even when ldb is huge) and
/// scattered into the 32-wide panels.
@inline(__always)
func packBRows(b: UnsafePointer<Float>, ldb: Int, p0: Int, kc: Int, j0: Int, nc: Int,
               into dst: UnsafeMutablePointer<Float>) {
    let fullPanels = nc / gemmNR
    let rem = nc - fullPanels * gemmNR
    let panelStride = kc * gemmNR
    for p in 0..<kc {
        let src = UnsafeRawPointer(b + (p0 + p) * ldb + j0)
        var d = UnsafeMutableRawPointer(dst + p * gemmNR)
        var off = 0
        for _ in 0..<fullPanels {
            d.storeBytes(of: src.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self), as: SIMD16<Float>.self)
            d.storeBytes(of: src.loadUnaligned(fromByteOffset: off + 64, as: SIMD16<Float>.self),
                         toByteOffset: 64, as: SIMD16<Float>.self)
            d += panelStride * 4
            off += gemmNR * 4
        }
        if rem > 0 {
            let s = b + (p0 + p) * ldb + j0 + fullPanels * gemmNR
            let dd = dst + fullPanels * panelStride + p * gemmNR
            for c in 0..<rem { dd[c] = s[c] }
            for c in rem..<gemmNR { dd[c] = 0 }
        }
    }
}
