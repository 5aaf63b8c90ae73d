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

/// `m` rounded up to whole 12-row micro-panels: the row count of a packed A block.
@inline(__always)
func packedRows(_ m: Int) -> Int { (m + gemmMR - 1) / gemmMR * gemmMR }
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
        } else if rows == gemmMR {
            packAPanelRows(a + (i0 + i) * lda + p0, lda: lda, kc: kc, alpha: alpha, panel: panel)
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

/// One full 12-row A panel from row-major storage: panel[p·12 + r] = alpha·src[r·lda + p].
/// Eight k steps at a time, the 12 source rows are read as vectors and transposed in registers
/// (rows 0–7 as one 8×8 block, rows 8–11 as the first half of a second one), so the panel is
/// written with whole-vector stores instead of one scalar store per element.
@inline(__always)
func packAPanelRows(_ src: UnsafePointer<Float>, lda: Int, kc: Int, alpha: Float,
                    panel: UnsafeMutablePointer<Float>) {
    var p = 0
    while p + 8 <= kc {
        @inline(__always) func row(_ r: Int) -> SIMD8<Float> {
            alpha * UnsafeRawPointer(src + r * lda + p).loadUnaligned(as: SIMD8<Float>.self)
        }
        let low = transpose8x8(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        let zero = SIMD8<Float>()
        let high = transpose8x8(row(8), row(9), row(10), row(11), zero, zero, zero, zero)
        let d = UnsafeMutableRawPointer(panel + p * gemmMR)
        withUnsafeBytes(of: low) { l in
            withUnsafeBytes(of: high) { h in
                let lv = l.baseAddress!.assumingMemoryBound(to: SIMD8<Float>.self)
                let hv = h.baseAddress!.assumingMemoryBound(to: SIMD8<Float>.self)
                for q in 0..<8 {
                    d.storeBytes(of: lv[q], toByteOffset: q * gemmMR * 4, as: SIMD8<Float>.self)
                    d.storeBytes(of: hv[q].lowHalf, toByteOffset: (q * gemmMR + 8) * 4, as: SIMD4<Float>.self)
                }
            }
        }
        p += 8
    }
    while p < kc {
        for r in 0..<gemmMR { panel[p * gemmMR + r] = alpha * src[r * lda + p] }
        p += 1
    }
}

/// The transpose of the 8×8 block whose rows are r0…r7: result.q[c] = r_c[q]. Three rounds of
/// the perfect shuffle (row'[2i] = zip of the low halves of row[i] and row[i+4], row'[2i+1] of
/// the high halves).
@inline(__always)
func transpose8x8(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
                  _ r4: SIMD8<Float>, _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>)
    -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
        SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    @inline(__always) func lo(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3])
    }
    @inline(__always) func hi(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }
    var v = (r0, r1, r2, r3, r4, r5, r6, r7)
    for _ in 0..<3 {
        v = (lo(v.0, v.4), hi(v.0, v.4), lo(v.1, v.5), hi(v.1, v.5),
             lo(v.2, v.6), hi(v.2, v.6), lo(v.3, v.7), hi(v.3, v.7))
    }
    return v
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
    if cols == gemmNR {
        // 16×16 SIMD transposes: rows c of the source become columns of the panel.
        while p + 16 <= kc {
            transpose16x16(src + p, ldb, panel + p * gemmNR, gemmNR)
            transpose16x16(src + 16 * ldb + p, ldb, panel + p * gemmNR + 16, gemmNR)
            p += 16
        }
    }
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

/// Interleaves the low halves of a and b: [a0, b0, a1, b1, …, a7, b7].
@inline(__always)
func zipLow(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
}

/// Interleaves the high halves of a and b: [a8, b8, …, a15, b15].
@inline(__always)
func zipHigh(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11], a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15])
}

/// dst[i·ldd + c] = src[c·lds + i] for a 16×16 block: four rounds of the perfect shuffle
/// (row'[2i] = zipLow(row[i], row[i+8]), row'[2i+1] = zipHigh(row[i], row[i+8])) transpose it.
@inline(__always)
func transpose16x16(_ src: UnsafePointer<Float>, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int) {
    var r = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
             SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
             SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
    withUnsafeMutableBytes(of: &r) { raw in
        let v = raw.baseAddress!.assumingMemoryBound(to: SIMD16<Float>.self)
        for i in 0..<16 { v[i] = UnsafeRawPointer(src + i * lds).loadUnaligned(as: SIMD16<Float>.self) }
        for _ in 0..<4 {
            let t0 = v[0], t1 = v[1], t2 = v[2], t3 = v[3], t4 = v[4], t5 = v[5], t6 = v[6], t7 = v[7]
            let t8 = v[8], t9 = v[9], t10 = v[10], t11 = v[11], t12 = v[12], t13 = v[13], t14 = v[14], t15 = v[15]
            v[0] = zipLow(t0, t8); v[1] = zipHigh(t0, t8)
            v[2] = zipLow(t1, t9); v[3] = zipHigh(t1, t9)
            v[4] = zipLow(t2, t10); v[5] = zipHigh(t2, t10)
            v[6] = zipLow(t3, t11); v[7] = zipHigh(t3, t11)
            v[8] = zipLow(t4, t12); v[9] = zipHigh(t4, t12)
            v[10] = zipLow(t5, t13); v[11] = zipHigh(t5, t13)
            v[12] = zipLow(t6, t14); v[13] = zipHigh(t6, t14)
            v[14] = zipLow(t7, t15); v[15] = zipHigh(t7, t15)
        }
        for i in 0..<16 { UnsafeMutableRawPointer(dst + i * ldd).storeBytes(of: v[i], as: SIMD16<Float>.self) }
    }
}
