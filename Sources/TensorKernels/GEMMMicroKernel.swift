
/// Register-blocked micro-kernel: C[0..<mr, 0..<nr] = A·B + beta·C for one packed tile.
///
/// `a` is a packed A micro-panel (`kc` steps of `gemmMR` = 12 floats, alpha already applied; or,
/// with `aStep` ≠ 12, a k-major A read in place: row r of step p at `a[p·aStep + r]`),
/// `b` a packed B micro-panel (`kc` steps of `gemmNR` = 32 floats). `rows` ∈ {4, 8, 12} and
/// `wide` (32 vs 16 columns) are compile-time constants at every call site, so the unused
/// accumulators vanish. The tile computed is
///   acc[r][j] = Σ_{p<kc} a[p·aStep + r] · b[p·32 + j],
/// and C[r·ldc + j] = acc[r][j] + beta·C[r·ldc + j] for r < mr ≤ rows, j < nr; when beta == 0
/// C is not read.
@inline(__always)
func microKernelBody(_ rows: Int, _ wide: Bool, kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR,
                     b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    var c0a = SIMD16<Float>(), c0b = SIMD16<Float>()
    var c1a = SIMD16<Float>(), c1b = SIMD16<Float>()
    var c2a = SIMD16<Float>(), c2b = SIMD16<Float>()
    var c3a = SIMD16<Float>(), c3b = SIMD16<Float>()
    var c4a = SIMD16<Float>(), c4b = SIMD16<Float>()
    var c5a = SIMD16<Float>(), c5b = SIMD16<Float>()
    var c6a = SIMD16<Float>(), c6b = SIMD16<Float>()
    var c7a = SIMD16<Float>(), c7b = SIMD16<Float>()
    var c8a = SIMD16<Float>(), c8b = SIMD16<Float>()
    var c9a = SIMD16<Float>(), c9b = SIMD16<Float>()
    var c10a = SIMD16<Float>(), c10b = SIMD16<Float>()
    var c11a = SIMD16<Float>(), c11b = SIMD16<Float>()
    var ap = a
    var bp = UnsafeRawPointer(b)
    var p = 0
    while p < kc {
        let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
        let b1 = wide ? bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) : SIMD16<Float>()
        let x0 = SIMD16<Float>(repeating: ap[0])
        c0a = c0a.addingProduct(x0, b0)
        if wide { c0b = c0b.addingProduct(x0, b1) }
        let x1 = SIMD16<Float>(repeating: ap[1])
        c1a = c1a.addingProduct(x1, b0)
        if wide { c1b = c1b.addingProduct(x1, b1) }
        let x2 = SIMD16<Float>(repeating: ap[2])
        c2a = c2a.addingProduct(x2, b0)
        if wide { c2b = c2b.addingProduct(x2, b1) }
        let x3 = SIMD16<Float>(repeating: ap[3])
        c3a = c3a.addingProduct(x3, b0)
        if wide { c3b = c3b.addingProduct(x3, b1) }
        if rows > 4 {
            let x4 = SIMD16<Float>(repeating: ap[4])
            c4a = c4a.addingProduct(x4, b0)
            if wide { c4b = c4b.addingProduct(x4, b1) }
        }
        if rows > 5 {
            let x5 = SIMD16<Float>(repeating: ap[5])
            c5a = c5a.addingProduct(x5, b0)
            if wide { c5b = c5b.addingProduct(x5, b1) }
        }
        if rows > 6 {
            let x6 = SIMD16<Float>(repeating: ap[6])
            c6a = c6a.addingProduct(x6, b0)
            if wide { c6b = c6b.addingProduct(x6, b1) }
        }
        if rows > 7 {
            let x7 = SIMD16<Float>(repeating: ap[7])
            c7a = c7a.addingProduct(x7, b0)
            if wide { c7b = c7b.addingProduct(x7, b1) }
        }
        if rows > 8 {
            let x8 = SIMD16<Float>(repeating: ap[8])
            c8a = c8a.addingProduct(x8, b0)
            if wide { c8b = c8b.addingProduct(x8, b1) }
        }
        if rows > 9 {
            let x9 = SIMD16<Float>(repeating: ap[9])
            c9a = c9a.addingProduct(x9, b0)
            if wide { c9b = c9b.addingProduct(x9, b1) }
        }
        if rows > 10 {
            let x10 = SIMD16<Float>(repeating: ap[10])
            c10a = c10a.addingProduct(x10, b0)
            if wide { c10b = c10b.addingProduct(x10, b1) }
        }
        if rows > 11 {
            let x11 = SIMD16<Float>(repeating: ap[11])
            c11a = c11a.addingProduct(x11, b0)
            if wide { c11b = c11b.addingProduct(x11, b1) }
        }
        ap += aStep
        bp += gemmNR * 4
        p += 1
    }
    let fullWidth = wide ? 32 : 16
    if mr == rows && nr == fullWidth {
        if beta == 0 {
            storeTile(c + 0 * ldc, c0a, c0b, wide)
            storeTile(c + 1 * ldc, c1a, c1b, wide)
            storeTile(c + 2 * ldc, c2a, c2b, wide)
            storeTile(c + 3 * ldc, c3a, c3b, wide)
            if rows > 4 {
                storeTile(c + 4 * ldc, c4a, c4b, wide)
            }
            if rows > 5 {
                storeTile(c + 5 * ldc, c5a, c5b, wide)
            }
            if rows > 6 {
                storeTile(c + 6 * ldc, c6a, c6b, wide)
            }
            if rows > 7 {
                storeTile(c + 7 * ldc, c7a, c7b, wide)
            }
            if rows > 8 {
                storeTile(c + 8 * ldc, c8a, c8b, wide)
            }
            if rows > 9 {
                storeTile(c + 9 * ldc, c9a, c9b, wide)
            }
            if rows > 10 {
                storeTile(c + 10 * ldc, c10a, c10b, wide)
            }
            if rows > 11 {
                storeTile(c + 11 * ldc, c11a, c11b, wide)
            }
        } else {
            updateTile(c + 0 * ldc, c0a, c0b, wide, beta)
            updateTile(c + 1 * ldc, c1a, c1b, wide, beta)
            updateTile(c + 2 * ldc, c2a, c2b, wide, beta)
            updateTile(c + 3 * ldc, c3a, c3b, wide, beta)
            if rows > 4 {
                updateTile(c + 4 * ldc, c4a, c4b, wide, beta)
            }
            if rows > 5 {
                updateTile(c + 5 * ldc, c5a, c5b, wide, beta)
            }
            if rows > 6 {
                updateTile(c + 6 * ldc, c6a, c6b, wide, beta)
            }
            if rows > 7 {
                updateTile(c + 7 * ldc, c7a, c7b, wide, beta)
            }
            if rows > 8 {
                updateTile(c + 8 * ldc, c8a, c8b, wide, beta)
            }
            if rows > 9 {
                updateTile(c + 9 * ldc, c9a, c9b, wide, beta)
            }
            if rows > 10 {
                updateTile(c + 10 * ldc, c10a, c10b, wide, beta)
            }
            if rows > 11 {
                updateTile(c + 11 * ldc, c11a, c11b, wide, beta)
            }
        }
    } else {
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 2 * gemmMR) { t in
            let tile = t.baseAddress!
            tile[0] = c0a; tile[1] = c0b
            tile[2] = c1a; tile[3] = c1b
            tile[4] = c2a; tile[5] = c2b
            tile[6] = c3a; tile[7] = c3b
            tile[8] = c4a; tile[9] = c4b
            tile[10] = c5a; tile[11] = c5b
            tile[12] = c6a; tile[13] = c6b
            tile[14] = c7a; tile[15] = c7b
            tile[16] = c8a; tile[17] = c8b
            tile[18] = c9a; tile[19] = c9b
            tile[20] = c10a; tile[21] = c10b
            tile[22] = c11a; tile[23] = c11b
            let tf = UnsafeMutableRawPointer(tile).assumingMemoryBound(to: Float.self)
            edgeStore(tf, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        }
    }
}

@inline(never)
func microKernel12x32(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(12, true, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel12x16(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(12, false, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel8x32(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(8, true, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel8x16(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(8, false, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel4x32(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(4, true, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

@inline(never)
func microKernel4x16(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    microKernelBody(4, false, kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

