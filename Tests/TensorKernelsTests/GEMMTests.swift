import Testing
@testable import TensorKernels

/// Naive Double reference: C = alpha·op(A)·op(B) + beta·C (beta == 0 ignores C).
func referenceGEMM(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: [Float], _ lda: Int,
                   _ b: [Float], _ ldb: Int, _ beta: Float, _ c: [Float], _ ldc: Int) -> [Double] {
    var out = c.map { Double($0) }
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = ta ? a[p * lda + i] : a[i * lda + p]
                let bv = tb ? b[j * ldb + p] : b[p * ldb + j]
                s += Double(av) * Double(bv)
            }
            out[i * ldc + j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j]))
        }
    }
    return out
}

func checkGEMM(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Float, beta: Float, pad: Int,
               threads: Int = 2, seed: UInt64 = 1) -> Bool {
    var rng = TestRNG(seed)
    let rowsA = ta ? k : m, colsA = ta ? m : k
    let rowsB = tb ? n : k, colsB = tb ? k : n
    let lda = colsA + pad, ldb = colsB + pad, ldc = n + pad
    let a = rng.array(max(1, rowsA * lda)), b = rng.array(max(1, rowsB * ldb))
    var c = beta == 0 ? [Float](repeating: .nan, count: max(1, m * ldc)) : rng.array(max(1, m * ldc))
    let ref = referenceGEMM(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                sgemmThreads(threads, transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: alpha,
                             a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta,
                             c: cp.baseAddress!, ldc: ldc, settings: .current)
            }
        }
    }
    for i in 0..<m {
        for j in 0..<n {
            let got = Double(c[i * ldc + j]), want = ref[i * ldc + j]
            if !(abs(got - want) <= 1e-5 * Double(k + 2) + 1e-5 * abs(want)) {
                print("GEMM mismatch ta=\(ta) tb=\(tb) m=\(m) n=\(n) k=\(k) at (\(i),\(j)): \(got) vs \(want)")
                return false
            }
        }
        // Padding columns of C must be untouched.
        if pad > 0 && beta == 0 && !c[i * ldc + n].isNaN { return false }
    }
    return true
}

@Suite struct GEMMTests {
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 7, 13), (7, 1, 13), (13, 33, 1), (33, 13, 7), (100, 33, 13), (13, 100, 33),
        (33, 100, 100), (100, 7, 100), (7, 100, 100), (24, 64, 17), (12, 32, 5),
    ]

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func awkwardShapes(_ t: (Bool, Bool)) {
        for (idx, s) in Self.shapes.enumerated() {
            let (alpha, beta): (Float, Float) = [(1, 0), (0.7, -1.3), (-2, 1), (1.5, 0)][idx % 4]
            #expect(checkGEMM(t.0, t.1, s.0, s.1, s.2, alpha: alpha, beta: beta, pad: idx % 3 == 0 ? 0 : 5,
                              threads: idx % 2 + 1, seed: UInt64(idx)))
        }
    }

    @Test func blockedAndThreaded() {
        // Crosses the KC, MC and NC block boundaries and takes the threaded path (both splits).
        #expect(checkGEMM(false, false, 150, 1100, 300, alpha: 1, beta: 0, pad: 3))
        #expect(checkGEMM(true, true, 300, 70, 520, alpha: 0.5, beta: 2, pad: 1, seed: 9))
    }

    /// Both register tilings (`GEMMTiling`) compute each element as the same ordered sum of
    /// FMAs, so their results must agree bit for bit, and both must match the reference, on
    /// shapes with partial 12-row and 32-column tiles, narrow 16-column edges and every beta case.
    @Test func tilingsAgreeBitForBit() {
        let shapes = [(12, 32, 40), (7, 19, 33), (25, 50, 300), (13, 17, 5), (1, 70, 9), (30, 16, 64)]
        let betas: [Float] = [0, 1, -0.5]
        for (idx, s) in shapes.enumerated() {
            var rng = TestRNG(UInt64(idx + 100))
            let (m, n, k) = s
            let a = rng.array(m * k), b = rng.array(k * n), c0 = rng.array(m * n)
            var results: [[Float]] = []
            for tiling in GEMMTiling.allCases {
                KernelSettings.with({ $0.tiling = tiling }) {
                    #expect(checkGEMM(idx % 2 == 1, false, m, n, k, alpha: 0.8, beta: betas[idx % 3], pad: idx % 3,
                                      seed: UInt64(idx)))
                    var c = c0
                    sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1.25, a: a, lda: k, b: b,
                          ldb: n, beta: betas[idx % 3], c: &c, ldc: n)
                    results.append(c)
                }
            }
            #expect(results[0] == results[1], "tilings differ on \(m)×\(n)×\(k)")
        }
    }

    /// With one B panel (n ≤ 32), alpha 1 and A not transposed, the narrow tiling reads A's rows in
    /// place instead of packing them (the wide one too up to 16 columns, below). Rows tails of 1–5,
    /// several MC and KC blocks (the in-place pointer must follow both), every beta, one and two
    /// workers; bit for bit the wide tiling's sums, and the reference.
    @Test func narrowTilesReadASinglePanelInPlace() {
        Self.checkInPlaceAgainstPacked(transposeA: false, shapes: [(7, 1, 9), (13, 5, 300), (100, 16, 700),
                                                                   (301, 17, 40), (49, 32, 513), (6, 31, 1)], seed: 200)
    }

    /// With one B panel, alpha 1 and a transposed A whose row count is a multiple of 4, the wide
    /// tiling reads A in place (a k-major A is a packed panel with step lda): the backward-input
    /// GEMM of a single image on a small map. Row tails of 4 and 8, several MC and KC blocks, every
    /// beta, one and two workers; bit for bit the narrow tiling's packed sums, and the reference.
    /// m = 30 (not a multiple of 4) packs as before.
    @Test func wideTilesReadATransposedPanelInPlace() {
        Self.checkInPlaceAgainstPacked(transposeA: true, shapes: [(4, 1, 9), (8, 16, 300), (300, 16, 700),
                                                                  (148, 17, 40), (576, 32, 513), (30, 5, 64)], seed: 300)
    }

    /// With at most 16 columns of B, alpha 1 and A not transposed, the wide tiling reads A's rows
    /// in place too (the narrow tiles' 6×16 sub-tiles): bit for bit the packed sums, which the same
    /// product with one more (zero) column of B — 17 columns, packed — gives in its first n
    /// columns; and the reference. Row tails, several MC and KC blocks, one and two workers.
    @Test func wideTilesReadARowsInPlaceUpToSixteenColumns() {
        for (idx, s) in [(7, 1, 9), (13, 5, 300), (100, 16, 700), (301, 12, 40), (240, 16, 1200)].enumerated() {
            let (m, n, k) = s
            var rng = TestRNG(UInt64(idx) + 400)
            let a = rng.array(m * k), b = rng.array(k * n)
            var wider = [Float](repeating: 0, count: k * (n + 1))
            for p in 0..<k { for j in 0..<n { wider[p * (n + 1) + j] = b[p * n + j] } }
            KernelSettings.with({ $0.tiling = .wide }) {
                for threads in [1, 2] {
                    #expect(checkGEMM(false, false, m, n, k, alpha: 1, beta: 0, pad: idx % 3, threads: threads,
                                      seed: UInt64(idx)), "\(m)×\(n)×\(k), \(threads) threads")
                    KernelSettings.with({ $0.threads = threads }) {
                        var inPlace = [Float](repeating: .nan, count: m * n), packed = [Float](repeating: .nan, count: m * (n + 1))
                        sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                              beta: 0, c: &inPlace, ldc: n)
                        sgemm(transposeA: false, transposeB: false, m: m, n: n + 1, k: k, alpha: 1, a: a, lda: k, b: wider,
                              ldb: n + 1, beta: 0, c: &packed, ldc: n + 1)
                        var same = true
                        for i in 0..<m { for j in 0..<n where inPlace[i * n + j] != packed[i * (n + 1) + j] { same = false } }
                        #expect(same, "\(m)×\(n)×\(k), \(threads) threads")
                    }
                }
            }
        }
    }

    /// Each (m, n, k): against the reference under both tilings (one reads A in place, the other
    /// packs it), one and two workers, B transposed on odd shapes, and the two tilings' results
    /// equal bit for bit (each element is the same ordered sum of fused multiply-adds).
    static func checkInPlaceAgainstPacked(transposeA: Bool, shapes: [(Int, Int, Int)], seed: UInt64) {
        let betas: [Float] = [0, 1, -0.5]
        for (idx, s) in shapes.enumerated() {
            let (m, n, k) = s
            var rng = TestRNG(UInt64(idx) + seed)
            let a = rng.array(m * k), b = rng.array(k * n), c0 = rng.array(m * n)
            var results: [[Float]] = []
            for tiling in GEMMTiling.allCases {
                KernelSettings.with({ $0.tiling = tiling }) {
                    for threads in [1, 2] {
                        #expect(checkGEMM(transposeA, idx % 2 == 1, m, n, k, alpha: 1, beta: betas[idx % 3], pad: idx % 3,
                                          threads: threads, seed: UInt64(idx)), "\(tiling) \(m)×\(n)×\(k), \(threads) threads")
                    }
                    var c = c0
                    sgemm(transposeA: transposeA, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a,
                          lda: transposeA ? m : k, b: b, ldb: n, beta: betas[idx % 3], c: &c, ldc: n)
                    results.append(c)
                }
            }
            #expect(results[0] == results[1], "in-place and packed A differ on \(m)×\(n)×\(k)")
        }
    }

    @Test func degenerate() {
        // k == 0: C ← beta·C; m or n == 0: nothing happens.
        var c: [Float] = [1, 2, 3, 4]
        let a: [Float] = [0], b: [Float] = [0]
        sgemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 2,
              beta: 2, c: &c, ldc: 2)
        #expect(c == [2, 4, 6, 8])
        c = [.nan, .nan, .nan, .nan]
        sgemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 2,
              beta: 0, c: &c, ldc: 2)
        #expect(c == [0, 0, 0, 0])
        sgemm(transposeA: false, transposeB: false, m: 0, n: 2, k: 3, alpha: 1, a: a, lda: 1, b: b, ldb: 2,
              beta: 0, c: &c, ldc: 2)
        #expect(c == [0, 0, 0, 0])
    }

    @Test func batched() {
        var rng = TestRNG(42)
        let batch = 3, m = 5, n = 9, k = 7
        let a = rng.array(batch * m * k), b = rng.array(k * n)
        var c = [Float](repeating: .nan, count: batch * m * n)
        sgemmBatched(batch: batch, transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                     a: a, lda: k, strideA: m * k, b: b, ldb: n, strideB: 0, beta: 0, c: &c, ldc: n, strideC: m * n)
        for q in 0..<batch {
            let ref = referenceGEMM(false, false, m, n, k, 1, Array(a[(q * m * k)..<((q + 1) * m * k)]), k, b, n, 0,
                                    [Float](repeating: 0, count: m * n), n)
            for i in 0..<(m * n) { #expect(abs(Double(c[q * m * n + i]) - ref[i]) < 1e-4) }
        }
    }
}
