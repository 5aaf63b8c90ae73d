// Blocked, packed single-precision GEMM (pure Swift, SIMD16 micro-kernel).
//
// Loop nest (per thread): jc over N in blocks of ≤ NC columns, pc over K in blocks of ≤ KC,
// pack op(B)[pc.., jc..] (L2-resident), ic over M in blocks of ≤ MC rows, pack alpha·op(A)
// (L2-resident), then jr over 32-column micro-panels (the B micro-panel stays in L1) and ir over
// 12-row micro-panels calling the 12×32 register-blocked micro-kernel.
// Parallelism: one fork per call; each worker owns a disjoint slab of C (columns when n ≥ m,
// else rows) and runs the serial algorithm on it with its own packing buffers.
// Block sizes, the parallel threshold, the tiling and the thread budget come from the
// `KernelSettings` the public entry read once on the calling thread.

@inline(__always)
func storeTile(_ p: UnsafeMutablePointer<Float>, _ x: SIMD16<Float>, _ y: SIMD16<Float>, _ wide: Bool) {
    let r = UnsafeMutableRawPointer(p)
    r.storeBytes(of: x, as: SIMD16<Float>.self)
    if wide { r.storeBytes(of: y, toByteOffset: 64, as: SIMD16<Float>.self) }
}

@inline(__always)
func updateTile(_ p: UnsafeMutablePointer<Float>, _ x: SIMD16<Float>, _ y: SIMD16<Float>, _ wide: Bool,
                _ beta: Float) {
    let r = UnsafeMutableRawPointer(p)
    let c0 = r.loadUnaligned(as: SIMD16<Float>.self)
    if beta == 1 {
        r.storeBytes(of: x + c0, as: SIMD16<Float>.self)
        if wide {
            let c1 = r.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            r.storeBytes(of: y + c1, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    } else {
        r.storeBytes(of: x.addingProduct(beta, c0), as: SIMD16<Float>.self)
        if wide {
            let c1 = r.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            r.storeBytes(of: y.addingProduct(beta, c1), toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}

/// Writes the top-left mr×nr corner of a 12×32 tile (row stride 32) into C with beta.
@inline(never)
func edgeStore(_ tile: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float,
               mr: Int, nr: Int) {
    for r in 0..<mr {
        let t = tile + r * gemmNR
        let d = c + r * ldc
        if beta == 0 {
            for j in 0..<nr { d[j] = t[j] }
        } else {
            for j in 0..<nr { d[j] = t[j] + beta * d[j] }
        }
    }
}

@inline(__always)
func runMicroKernel(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                    ldc: Int, beta: Float, mr: Int, nr: Int, tiling: GEMMTiling) {
    if tiling == .narrow {
        runNarrowTiles(kc: kc, a: a, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        return
    }
    runWideTiles(kc: kc, a: a, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
}

/// The wide (AVX-512) micro-kernel for an mr×nr tile, its row count (4, 8, 12) and width (16, 32)
/// the smallest that cover it; A as in `microKernelBody` (`aStep` 12: a packed panel). A kernel
/// of r rows reads r rows of A, so with `aStep` ≠ 12 (A read in place) mr must be 4, 8 or 12.
@inline(__always)
func runWideTiles(kc: Int, a: UnsafePointer<Float>, aStep: Int = gemmMR, b: UnsafePointer<Float>,
                  c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, mr: Int, nr: Int) {
    if nr > 16 {
        if mr > 8 {
            microKernel12x32(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        } else if mr > 4 {
            microKernel8x32(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        } else {
            microKernel4x32(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        }
    } else {
        if mr > 8 {
            microKernel12x16(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        } else if mr > 4 {
            microKernel8x16(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        } else {
            microKernel4x16(kc: kc, a: a, aStep: aStep, b: b, c: c, ldc: ldc, beta: beta, mr: mr, nr: nr)
        }
    }
}

/// Splits `total` into ⌈total/maxBlock⌉ near-equal blocks, each a multiple of `quantum`
/// (except possibly the last), and returns the block size.
@inline(__always)
func evenBlock(_ total: Int, _ maxBlock: Int, quantum: Int) -> Int {
    let blocks = (total + maxBlock - 1) / maxBlock
    let size = (total + blocks - 1) / blocks
    return min(maxBlock, (size + quantum - 1) / quantum * quantum)
}

/// C ← beta·C on an m×n block (beta == 0 writes zeros without reading C).
func scaleMatrix(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if beta == 1 { return }
    for i in 0..<m {
        let row = c + i * ldc
        if beta == 0 {
            row.update(repeating: 0, count: n)
        } else {
            for j in 0..<n { row[j] *= beta }
        }
    }
}

/// Per-thread packing workspace sized for the block parameters of `settings`.
struct GEMMWorkspace {
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>
    let kc: Int, mc: Int, nc: Int
    let tiling: GEMMTiling
    private let raw: UnsafeMutableRawPointer

    init(m: Int, n: Int, k: Int, settings: KernelSettings) {
        kc = evenBlock(k, settings.gemmKC, quantum: 1)
        mc = evenBlock(m, settings.gemmMC, quantum: gemmMR)
        nc = evenBlock(n, settings.gemmNC, quantum: gemmNR)
        tiling = settings.tiling
        let aFloats = packedRows(mc) * kc
        let bFloats = ((nc + gemmNR - 1) / gemmNR) * gemmNR * kc
        let aBytes = (aFloats * 4 + 63) / 64 * 64
        raw = UnsafeMutableRawPointer.allocate(byteCount: aBytes + bFloats * 4 + 64, alignment: 64)
        a = raw.bindMemory(to: Float.self, capacity: aFloats)
        b = (raw + aBytes).bindMemory(to: Float.self, capacity: bFloats)
    }

    func free() { raw.deallocate() }
}

/// Single-threaded blocked GEMM on the whole problem (see `sgemm` for the contract), with the
/// block sizes and tiling of `settings`.
func sgemmSerial(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                 c: UnsafeMutablePointer<Float>, ldc: Int, settings: KernelSettings) {
    if m <= 0 || n <= 0 { return }
    if k <= 0 || alpha == 0 {
        scaleMatrix(m: m, n: n, beta: beta, c: c, ldc: ldc)
        return
    }
    let ws = GEMMWorkspace(m: m, n: n, k: k, settings: settings)
    defer { ws.free() }
    let KC = ws.kc, MC = ws.mc, NC = ws.nc
    // With one B panel (n ≤ 32) every A block meets it once, so packing A is a pass that saves
    // nothing: the narrow tiles read A's rows (contiguous in k) in place; the wide ones read a
    // transposed A (k-major, 12 rows of a step contiguous: the layout of a packed panel with a
    // step of lda) in place when its row count is a multiple of 4 (so every tile's rows exist),
    // and A's rows in place through the narrow tiles' 6×16 sub-tiles when B has at most 16
    // columns (one pass over A either way; 32 would read A twice). That is the forward pass of a
    // single image on a 4×4 map (W · columns, 16 pixels), which packing made a weight-sized read
    // and write more: 512 channels, one thread, 1.34–1.49 → 0.83 ms (issue 17's twelfth session).
    let aInPlace = alpha == 1 && n <= gemmNR
        && (ws.tiling == .narrow ? !transposeA : (transposeA && m % 4 == 0) || (!transposeA && n <= 16))
    var jc = 0
    while jc < n {
        let nc = min(NC, n - jc)
        var pc = 0
        while pc < k {
            let kc = min(KC, k - pc)
            let betaBlock: Float = pc == 0 ? beta : 1
            packB(transpose: transposeB, b: b, ldb: ldb, p0: pc, kc: kc, j0: jc, nc: nc, into: ws.b)
            var ic = 0
            while ic < m {
                let mc = min(MC, m - ic)
                if !aInPlace {
                    packA(transpose: transposeA, a: a, lda: lda, i0: ic, mc: mc, p0: pc, kc: kc, alpha: alpha,
                          into: ws.a)
                }
                var jr = 0
                while jr < nc {
                    let nr = min(gemmNR, nc - jr)
                    let bPanel = ws.b + (jr / gemmNR) * kc * gemmNR
                    var ir = 0
                    while ir < mc {
                        let mr = min(gemmMR, mc - ir)
                        let cTile = c + (ic + ir) * ldc + jc + jr
                        if aInPlace && transposeA {
                            runWideTiles(kc: kc, a: a + pc * lda + ic + ir, aStep: lda, b: bPanel, c: cTile, ldc: ldc,
                                         beta: betaBlock, mr: mr, nr: nr)
                        } else if aInPlace {
                            runNarrowTilesStridedA(kc: kc, a: a + (ic + ir) * lda + pc, lda: lda, b: bPanel, c: cTile,
                                                   ldc: ldc, beta: betaBlock, mr: mr, nr: nr)
                        } else {
                            runMicroKernel(kc: kc, a: ws.a + (ir / gemmMR) * kc * gemmMR, b: bPanel, c: cTile,
                                           ldc: ldc, beta: betaBlock, mr: mr, nr: nr, tiling: ws.tiling)
                        }
                        ir += gemmMR
                    }
                    jr += gemmNR
                }
                ic += MC
            }
            pc += KC
        }
        jc += NC
    }
}

/// Single-precision general matrix multiply (row-major):
///
///   C ← alpha · op(A) · op(B) + beta · C,
///
/// where op(A) is m×k (`a[i·lda + p]`, or `a[p·lda + i]` when `transposeA`, i.e. A stored k×m),
/// op(B) is k×n (`b[p·ldb + j]`, or `b[j·ldb + p]` when `transposeB`, i.e. B stored n×k) and C is
/// m×n with `c[i·ldc + j]`. When `beta == 0`, C is only written (never read), so NaN/Inf garbage in
/// C is ignored; when `k == 0` or `alpha == 0`, C ← beta·C. Any m, n, k ≥ 0 is accepted.
/// Large problems (2·m·n·k ≥ `gemmParallelFlops`, 4·10⁶ by default) are split across
/// `KernelSettings.current.threads` threads with one fork; C must not alias A or B.
public func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
    let span = KernelProfile.open("sgemm", flops: 2 * Double(m) * Double(n) * Double(max(k, 0)))
    defer { span?.close() }
    let settings = KernelSettings.current
    sgemmThreads(settings.threadCount, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                 alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, settings: settings)
}

/// `sgemm` with an explicit thread budget (1 = serial, on the calling thread) and settings.
func sgemmThreads(_ maxThreads: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                  alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, settings: KernelSettings) {
    if m <= 0 || n <= 0 { return }
    let flops = 2.0 * Double(m) * Double(n) * Double(max(k, 0))
    let nPanels = (n + gemmNR - 1) / gemmNR
    let mPanels = (m + gemmMR - 1) / gemmMR
    var threads = maxThreads
    if flops < Double(settings.gemmParallelFlops) || k <= 0 { threads = 1 }
    // Split the dimension with more micro-panels (columns preferred: A is the smaller pack).
    let splitN = nPanels >= 2 * mPanels || (nPanels >= threads && n >= m)
    threads = min(threads, splitN ? nPanels : mPanels)
    if threads <= 1 {
        sgemmSerial(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, settings: settings)
        return
    }
    let cp = SendablePointer(c)
    let t = threads
    parallelChunks(t) { w in
        if splitN {
            let lo = (w * nPanels / t) * gemmNR
            let hi = min(n, ((w + 1) * nPanels / t) * gemmNR)
            if lo >= hi { return }
            let bOff = transposeB ? lo * ldb : lo
            sgemmSerial(transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k, alpha: alpha,
                        a: a, lda: lda, b: b + bOff, ldb: ldb, beta: beta, c: cp.p + lo, ldc: ldc,
                        settings: settings)
        } else {
            let lo = (w * mPanels / t) * gemmMR
            let hi = min(m, ((w + 1) * mPanels / t) * gemmMR)
            if lo >= hi { return }
            let aOff = transposeA ? lo : lo * lda
            sgemmSerial(transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k, alpha: alpha,
                        a: a + aOff, lda: lda, b: b, ldb: ldb, beta: beta, c: cp.p + lo * ldc, ldc: ldc,
                        settings: settings)
        }
    }
}

/// Batched GEMM: for every `q` in `0..<batch`,
///
///   C_q ← alpha · op(A_q) · op(B_q) + beta · C_q,
///
/// with A_q = `a + q·strideA`, B_q = `b + q·strideB`, C_q = `c + q·strideC` and the per-matrix
/// conventions of `sgemm` (a stride of 0 shares one operand across the batch). The C_q must not
/// overlap each other or any A_q/B_q. Small matrices are distributed over threads by batch index;
/// large ones are each computed with the threaded `sgemm`.
public func sgemmBatched(batch: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                         alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
                         b: UnsafePointer<Float>, ldb: Int, strideB: Int, beta: Float,
                         c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
    let span = KernelProfile.open("sgemm", flops: 2 * Double(batch) * Double(m) * Double(n) * Double(max(k, 0)))
    defer { span?.close() }
    if batch <= 0 || m <= 0 || n <= 0 { return }
    let flops = 2.0 * Double(m) * Double(n) * Double(max(k, 0))
    let settings = KernelSettings.current
    if flops >= 4 * Double(settings.gemmParallelFlops) || batch == 1 {
        for q in 0..<batch {
            sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a + q * strideA, lda: lda, b: b + q * strideB, ldb: ldb, beta: beta,
                  c: c + q * strideC, ldc: ldc)
        }
        return
    }
    let perThread = max(1, Int(Double(settings.gemmParallelFlops) / max(flops, 1)))
    let cp = SendablePointer(c)
    parallelFor(batch, threads: settings.threadCount, minimumWorkPerThread: perThread) { range in
        for q in range {
            sgemmSerial(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a + q * strideA, lda: lda, b: b + q * strideB, ldb: ldb, beta: beta,
                        c: cp.p + q * strideC, ldc: ldc, settings: settings)
        }
    }
}
