import CKernelHints

/// The `narrow` register blocking of one packed 12×32 GEMM tile (`GEMMTiling`): 6×16
/// sub-tiles, each held in six SIMD16 accumulators.
///
/// `a` and `b` are the same packed micro-panels the wide kernel reads (A: 12 floats per k step,
/// B: 32 floats per k step); a sub-tile starting at row `r0` and column `j0` reads
/// a[p·12 + r0 + r] and b[p·32 + j0 + j]. Columns are the outer loop so a 16-column half of the
/// B panel is read from L1 by both row blocks. For r < mr ≤ 12, j < nr ≤ 32:
///   C[r·ldc + j] = Σ_{p<kc} a[p·12 + r]·b[p·32 + j] + beta·C[r·ldc + j].
@inline(__always)
func runNarrowTiles(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                    ldc: Int, beta: Float, mr: Int, nr: Int) {
    forEachNarrowSubTile(mr: mr, nr: nr) { r0, j0, rows, cols in
        let tileC = c + r0 * ldc + j0
        if rows > 4 {
            microKernel6x16(kc: kc, a: a + r0, b: b + j0, c: tileC, ldc: ldc, beta: beta, mr: rows, nr: cols)
        } else {
            microKernel4x16Narrow(kc: kc, a: a + r0, b: b + j0, c: tileC, ldc: ldc, beta: beta, mr: rows, nr: cols)
        }
    }
}

/// The narrow tiles of a 12×32 tile whose A rows are read where they lie instead of from a
/// packed panel: A[r, p] = a[r·lda + p] (row-major, k contiguous), B a packed panel as above.
/// For r < mr ≤ 12, j < nr ≤ 32:  C[r·ldc + j] = Σ_{p<kc} a[r·lda + p]·b[p·32 + j] + beta·C[r·ldc + j].
///
/// Packing A is a transposing pass that pays off only when the packed panel is reused by many B
/// panels; where A meets one or a few (a GEMM with n ≤ 32, `sgemmSerial`; the Winograd weight
/// gradient's Ŷ_ξ for ≤ 128 input channels, `winogradWeightGradInPlaceMaxChannels`) its rows are
/// read where they lie, six streams each contiguous in k. Rows at or past `mr` are never addressed
/// (their broadcasts repeat row 0, and their sums are not stored).
@inline(__always)
func runNarrowTilesStridedA(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    forEachNarrowSubTile(mr: mr, nr: nr) { r0, j0, rows, cols in
        let (tileA, tileB, tileC) = (a + r0 * lda, b + j0, c + r0 * ldc + j0)
        if rows > 4 {
            microKernel6x16StridedA(kc: kc, a: tileA, lda: lda, b: tileB, c: tileC, ldc: ldc, beta: beta, mr: rows, nr: cols)
        } else {
            microKernel4x16StridedA(kc: kc, a: tileA, lda: lda, b: tileB, c: tileC, ldc: ldc, beta: beta, mr: rows, nr: cols)
        }
    }
}

/// Calls `body(r0, j0, rows, cols)` for the 6×16 sub-tiles of an mr×nr tile (mr ≤ 12, nr ≤ 32),
/// columns outer, so a 16-column half of the B panel is read from L1 by both row blocks.
@inline(__always)
func forEachNarrowSubTile(mr: Int, nr: Int, _ body: (_ r0: Int, _ j0: Int, _ rows: Int, _ cols: Int) -> Void) {
    var j0 = 0
    while j0 < nr {
        let cols = min(16, nr - j0)
        var r0 = 0
        while r0 < mr {
            body(r0, j0, min(6, mr - r0), cols)
            r0 += 6
        }
        j0 += 16
    }
}

/// Where the micro-kernel finds A[r, p] (r < 6): at `a[offsets.r + p·kStep]`. A packed panel is
/// `(0, 1, 2, 3, 4, 5)` with kStep 12 (constants, so the compiled loop is the packed kernel's);
/// row-major rows are `r·lda` with kStep 1.
struct NarrowARows {
    let o1: Int, o2: Int, o3: Int, o4: Int, o5: Int
    let kStep: Int

    @inline(__always) static var packed: NarrowARows { NarrowARows(o1: 1, o2: 2, o3: 3, o4: 4, o5: 5, kStep: gemmMR) }

    /// Rows `r·lda`; rows at or past `mr` repeat row 0 (read, never stored), so nothing past the
    /// matrix's last row is touched.
    @inline(__always) static func strided(lda: Int, mr: Int) -> NarrowARows {
        @inline(__always) func row(_ r: Int) -> Int { r < mr ? r * lda : 0 }
        return NarrowARows(o1: row(1), o2: row(2), o3: row(3), o4: row(4), o5: row(5), kStep: 1)
    }
}

/// acc[r][j] = Σ_{p<kc} A[r, p]·b[p·32 + j] for r < rows (4 or 6, a compile-time constant at each
/// call site), j < 16, A[r, p] where `rowsOfA` says; stored into the top-left mr×nr corner of C
/// with beta.
@inline(__always)
func narrowKernelBody(_ rows: Int, kc: Int, a: UnsafePointer<Float>, _ rowsOfA: NarrowARows, b: UnsafePointer<Float>,
                      c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    // The C tile is read (beta ≠ 0) and written only after the k loop; asking for its lines now
    // lets a miss to L3 or memory overlap the kc·rows fused multiply-adds instead of stalling
    // the stores (C rows are ldc floats apart, so the hardware prefetchers do not follow them).
    // A row's nr ≤ 16 floats span at most two cache lines: its first and last element name both
    // (only the mr ≤ rows rows and nr columns the tile writes, so no address past C is formed).
    for r in 0..<mr {
        lcnn_prefetch_for_write(c + r * ldc)
        lcnn_prefetch_for_write(c + r * ldc + nr - 1)
    }
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
    var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
    let o1 = rowsOfA.o1, o2 = rowsOfA.o2, o3 = rowsOfA.o3, o4 = rowsOfA.o4, o5 = rowsOfA.o5
    let kStep = rowsOfA.kStep
    var ap = a
    var bp = UnsafeRawPointer(b)
    var p = 0
    while p < kc {
        let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
        c0 = c0.addingProduct(SIMD16(repeating: ap[0]), b0)
        c1 = c1.addingProduct(SIMD16(repeating: ap[o1]), b0)
        c2 = c2.addingProduct(SIMD16(repeating: ap[o2]), b0)
        c3 = c3.addingProduct(SIMD16(repeating: ap[o3]), b0)
        if rows > 4 {
            c4 = c4.addingProduct(SIMD16(repeating: ap[o4]), b0)
            c5 = c5.addingProduct(SIMD16(repeating: ap[o5]), b0)
        }
        ap += kStep
        bp += gemmNR * 4
        p += 1
    }
    if mr == rows && nr == 16 {
        @inline(__always) func put(_ r: Int, _ x: SIMD16<Float>) {
            if beta == 0 { storeTile(c + r * ldc, x, x, false) } else { updateTile(c + r * ldc, x, x, false, beta) }
        }
        put(0, c0); put(1, c1); put(2, c2); put(3, c3)
        if rows > 4 { put(4, c4); put(5, c5) }
    } else {
        // edgeStore reads rows of the tile at a stride of 32 floats: accumulator r goes to slot 2r.
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 12) { t in
            let tile = t.baseAddress!
            tile[0] = c0; tile[2] = c1; tile[4] = c2
            tile[6] = c3; tile[8] = c4; tile[10] = c5
            edgeStore(UnsafeMutableRawPointer(tile).assumingMemoryBound(to: Float.self),
                      c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        }
    }
}

@inline(never)
func microKernel6x16(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                     ldc: Int, beta: Float, mr: Int, nr: Int) {
    narrowKernelBody(6, kc: kc, a: a, .packed, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel4x16Narrow(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                           ldc: Int, beta: Float, mr: Int, nr: Int) {
    narrowKernelBody(4, kc: kc, a: a, .packed, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel6x16StridedA(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    narrowKernelBody(6, kc: kc, a: a, .strided(lda: lda, mr: mr), b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel4x16StridedA(kc: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    narrowKernelBody(4, kc: kc, a: a, .strided(lda: lda, mr: mr), b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}
