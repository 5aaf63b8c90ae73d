// Weight gradient of a 3×3, stride-1 convolution through Winograd F(2×2, 3×3) or F(4×4, 3×3)
// (Lavin & Gray 2016, §4; notation of Conv2dWinograd.swift, the F(4×4) matrices in
// Conv2dWinogradLargeTiles.swift).
//
// Per tile t the forward output is Y_t = Aᵀ [U ⊙ V_t] A with U = G g Gᵀ and V_t = Bᵀ d_t B, so
// for the output gradient dY_t (2×2 or 4×4, zero past the output's edge)
//
//   ∂L/∂U = Σ_t (A dY_t Aᵀ) ⊙ V_t,     ∂L/∂g = Gᵀ (∂L/∂U) G.
//
// Summed over the batch's tiles, each position ξ of the 4×4 (6×6) transformed tile is one GEMM
// with the tiles as its depth:
//
//   Z_ξ[o, c] = Σ_t Ŷ_ξ[o, t] · V_ξ[c, t],   Ŷ_t = A dY_t Aᵀ,   dW[o, c] = Gᵀ Z[o, c] G,
//
// 16 products per 2×2 tile and filter pair (36 per 4×4 tile) instead of the direct method's 36
// (144). Workers take disjoint runs of tile-row blocks and accumulate private Z sums, added in the
// final transform — or, when the tiles are too few to share
// (`winogradWeightGradMinTilesPerWorker`), they transform disjoint channels of each block into
// one shared V and Ŷ, then compute disjoint sets of the positions ξ of one shared Z; where the
// filters also outnumber the tiles, by blocks of filters instead (Conv2dWinogradWeightGradFilterBlocks.swift).

/// Whether `conv2dBackwardWeight` takes the Winograd path: the forward conditions
/// (`winogradApplies`) and at least `weightGradMinTiles` output tiles (`WinogradThresholds` of
/// the current tiling).
func winogradWeightGradApplies(_ g: Conv2dGeometry) -> Bool {
    winogradApplies(g) && winogradTiles(g) >= WinogradThresholds.of(KernelSettings.current.tiling).weightGradMinTiles
}

/// Whether the weight-gradient GEMMs read Ŷ_ξ in place (see `winogradWeightGradInPlaceMaxChannels`).
func winogradWeightGradReadsOutputInPlace(_ s: WinogradShape, tiling: GEMMTiling) -> Bool {
    tiling == .narrow && s.C <= winogradWeightGradInPlaceMaxChannels
}

/// Per-worker buffers of the weight-gradient blocks.
struct WinogradWeightGradWorkspace {
    /// Transformed input per ξ, [c][ldt] (tiles contiguous).
    let v: ScratchBuffer
    /// Transformed output gradient per ξ, [o][ldt].
    let dy: ScratchBuffer
    /// `patch` padded input rows and `tile` padded gradient rows of `rowWidth` floats.
    let rows: ScratchBuffer
    /// Packed GEMM operands: Ŷ_ξ as A panels (unless read in place), V_ξᵀ as B panels.
    let packedA: ScratchBuffer, packedB: ScratchBuffer
    let ldt: Int, vStride: Int, dyStride: Int, rowWidth: Int
    /// The micro-kernel's tiling, read by the kernel entry on the calling thread.
    let tiling: GEMMTiling

    /// Whether `v` and `dy` belong to this workspace (false: another's, shared).
    private let ownsOperands: Bool

    /// Buffers for blocks of up to `maxTiles` tiles; with `operands`, the transformed operands
    /// are that workspace's (the workers of a position split share worker 0's copy, which frees
    /// them), the rest private.
    init(_ s: WinogradShape, maxTiles: Int, tiling: GEMMTiling, sharing operands: WinogradWeightGradWorkspace? = nil) {
        self.tiling = tiling
        ldt = maxTiles + 16
        vStride = winogradPlaneStride(s.C * ldt)
        dyStride = winogradPlaneStride(s.O * ldt)
        rowWidth = winogradPatchRowWidth(s)
        ownsOperands = operands == nil
        v = operands?.v ?? ScratchBuffer(s.planes * vStride)
        dy = operands?.dy ?? ScratchBuffer(s.planes * dyStride)
        rows = ScratchBuffer((s.patch + s.tile) * rowWidth)
        rows.p.update(repeating: 0, count: (s.patch + s.tile) * rowWidth)
        packedA = ScratchBuffer(winogradWeightGradReadsOutputInPlace(s, tiling: tiling) ? 1 : packedRows(s.O) * maxTiles)
        packedB = ScratchBuffer((s.C + gemmNR - 1) / gemmNR * gemmNR * maxTiles)
    }

    /// `workers` workspaces for blocks of up to `maxTiles` tiles sharing the first one's V and Ŷ
    /// (the workers of a channel-shared transform; free them all, the first last or not).
    static func shared(_ s: WinogradShape, maxTiles: Int, tiling: GEMMTiling, workers: Int) -> [WinogradWeightGradWorkspace] {
        let owner = WinogradWeightGradWorkspace(s, maxTiles: maxTiles, tiling: tiling)
        return [owner] + (1..<max(1, workers)).map { _ in
            WinogradWeightGradWorkspace(s, maxTiles: maxTiles, tiling: tiling, sharing: owner)
        }
    }

    func free() {
        if ownsOperands {
            v.free()
            dy.free()
        }
        rows.free()
        packedA.free()
        packedB.free()
    }
}

/// Ŷ = A dY Aᵀ for 16 tiles at once; `d[2a + b]` is element (a, b) of each 2×2 gradient tile and
/// `y[4i + j]` receives position ξ = 4i + j. Aᵀ = [1 1 1 0; 0 1 −1 −1].
@inline(__always)
func winogradGradientTransform(_ d: UnsafePointer<SIMD16<Float>>, into y: UnsafeMutablePointer<SIMD16<Float>>) {
    // Rows of A dY: d0, d0 + d1, d0 − d1, −d1 (per column b).
    for b in 0..<2 {
        let d0 = d[b], d1 = d[2 + b]
        y[b] = d0
        y[4 + b] = d0 + d1
        y[8 + b] = d0 - d1
        y[12 + b] = -d1
    }
    // Columns of (A dY) Aᵀ: e0, e0 + e1, e0 − e1, −e1.
    for i in 0..<4 {
        let e0 = y[4 * i], e1 = y[4 * i + 1]
        y[4 * i] = e0
        y[4 * i + 1] = e0 + e1
        y[4 * i + 2] = e0 - e1
        y[4 * i + 3] = -e1
    }
}

/// Writes V_ξ[c, l] (every position ξ, tile l of the block) for tile rows [r0, r1) and the
/// channels c in `channels` (nil: all) into `ws.v`; the last image from `lastImage` when given
/// (`forEachPatchChunk`).
func winogradWeightGradInput(_ s: WinogradShape, input: UnsafePointer<Float>, lastImage: UnsafePointer<Float>? = nil,
                             r0: Int, r1: Int, channels: Range<Int>? = nil, ws: WinogradWeightGradWorkspace) {
    forEachTransformedInputChunk(s, input: input, lastImage: lastImage, r0: r0, r1: r1, rows: ws.rows.p,
                                 rowWidth: ws.rowWidth, only: channels) { c, l0, _, v in
        let dst = ws.v.p + c * ws.ldt + l0
        for xi in 0..<s.planes { store16(dst + xi * ws.vStride, v[xi]) }
    }
}

/// Writes Ŷ_ξ[o, l] (every position ξ) for tile rows [r0, r1) and the output channels o in
/// `channels` (nil: all) of `gradOutput` [N, O, OH, OW] into `ws.dy` (tile × tile gradient tiles,
/// zero past the output's edge); the last image from `lastImage` when given.
func winogradWeightGradOutput(_ s: WinogradShape, gradOutput: UnsafePointer<Float>, lastImage: UnsafePointer<Float>? = nil,
                              r0: Int, r1: Int, channels: Range<Int>? = nil, ws: WinogradWeightGradWorkspace) {
    let tileArea = s.tile * s.tile
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: tileArea + s.planes) { buf in
        let d = buf.baseAddress!, y = d + tileArea
        forEachPatchChunk(s, source: gradOutput, lastImage: lastImage, channels: s.O, height: s.OH, width: s.OW,
                          padTop: 0, padLeft: 0,
                          size: s.tile, r0: r0, r1: r1, rows: ws.rows.p + s.patch * ws.rowWidth, rowWidth: ws.rowWidth,
                          patches: d, only: channels) { o, l0, _ in
            if s.tile == 4 { winogradLargeTileGradientTransform(d, into: y) } else { winogradGradientTransform(d, into: y) }
            let dst = ws.dy.p + o * ws.ldt + l0
            for xi in 0..<s.planes { store16(dst + xi * ws.dyStride, y[xi]) }
        }
    }
}

/// Most input channels for which the narrow (AVX2) tiles read Ŷ_ξ's rows in place instead of
/// packing them: each 12-row block of Ŷ_ξ is read once per 32-channel panel of V_ξᵀ, so with few
/// panels a packing pass costs more than it saves, with many the contiguous packed panel streams
/// better than six row streams. Batch 32, two threads, per-call medians (`lcnn bench kernels`,
/// BENCHMARKS.md "sixth session"): in place 64 → 64 at 32×32 12.6–13.5 → 10.7–10.9 ms, 128 at
/// 16×16 10.0–10.7 → 9.6–10.3, 256 at 8×8 even (10.0 / 10.0 → 10.4 / 9.9), 512 at 4×4 slower
/// (12.0 / 12.1 → 14.5 / 15.3).
let winogradWeightGradInPlaceMaxChannels = 128

/// Z_ξ (O × C) = Ŷ_ξ (O × tiles) · V_ξᵀ (tiles × C), added to Z_ξ when `accumulate`. The block's
/// depth (≤ 256 + a row of tiles) is one K block: V_ξᵀ is packed once and every micro-tile reads
/// its panel from L1/L2. Ŷ_ξ's rows are contiguous in the tiles: the narrow (AVX2) tiles read them
/// in place (`runNarrowTilesStridedA`) when C ≤ `winogradWeightGradInPlaceMaxChannels`; otherwise,
/// and on the wide tiling, they are packed first.
func winogradWeightGradGEMM(_ s: WinogradShape, xi: Int, tiles: Int, accumulate: Bool,
                            z: UnsafeMutablePointer<Float>, ws: WinogradWeightGradWorkspace) {
    let O = s.O, C = s.C
    let dy = ws.dy.p + xi * ws.dyStride
    let packsA = !winogradWeightGradReadsOutputInPlace(s, tiling: ws.tiling)
    if packsA {
        prepackABlock(dy, lda: ws.ldt, m: O, k: tiles, kcBlock: tiles, block: 0, into: ws.packedA.p)
    }
    packB(transpose: true, b: ws.v.p + xi * ws.vStride, ldb: ws.ldt, p0: 0, kc: tiles, j0: 0, nc: C,
          into: ws.packedB.p)
    let beta: Float = accumulate ? 1 : 0
    var jr = 0
    while jr < C {
        let nr = min(gemmNR, C - jr)
        let bPanel = ws.packedB.p + (jr / gemmNR) * tiles * gemmNR
        var ir = 0
        while ir < O {
            let (mr, cTile) = (min(gemmMR, O - ir), z + ir * C + jr)
            if packsA {
                runMicroKernel(kc: tiles, a: ws.packedA.p + ir * tiles, b: bPanel, c: cTile, ldc: C, beta: beta,
                               mr: mr, nr: nr, tiling: ws.tiling)
            } else {
                runNarrowTilesStridedA(kc: tiles, a: dy + ir * ws.ldt, lda: ws.ldt, b: bPanel, c: cTile, ldc: C,
                                       beta: beta, mr: mr, nr: nr)
            }
            ir += gemmMR
        }
        jr += gemmNR
    }
}

/// dW[o, c] = scale · Gᵀ (Σ_w Z_w[o, c]) G for the filter pairs in `range` (pair = o·C + c): copy
/// w of Z (one per worker of a tile split, one in all for a position split) starts at
/// `sums + w·planes·plane`, laid out [ξ][o·C + c] with ξ planes `plane` floats apart; `tile`
/// picks G (F(2×2) or F(4×4), `planes` = (tile + 2)²). The scale multiplies the summed Z (G is
/// linear), so 1 leaves the values bit for bit those of no scale.
func winogradWeightGradFinish(pairs range: Range<Int>, sums: UnsafePointer<Float>, copies: Int, plane: Int,
                              tile: Int = 2, scale: Float = 1, gradWeight: UnsafeMutablePointer<Float>) {
    let planes = (tile + 2) * (tile + 2)
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: planes + 32) { buf in
        let m = buf.baseAddress!
        let stage = UnsafeMutableRawPointer(m + planes).assumingMemoryBound(to: Float.self)
        let rowsOut = stage + 256
        var p0 = range.lowerBound
        while p0 < range.upperBound {
            let count = min(16, range.upperBound - p0)
            for xi in 0..<planes {
                var sum = SIMD16<Float>()
                for w in 0..<copies {
                    let src = sums + (w * planes + xi) * plane + p0
                    if count == 16 {
                        sum += load16(src)
                    } else {
                        for q in 0..<count { sum[q] += src[q] }
                    }
                }
                m[xi] = scale == 1 ? sum : sum * scale
            }
            if tile == 4 { winogradLargeTileFilterGradient(m, into: stage) } else { winogradFilterGradient(m, into: stage) }
            // Rows are taps, lanes pairs: transpose so each pair's 9 taps are contiguous.
            transpose16x16(stage, 16, rowsOut, 16)
            // Eight taps as one vector, the ninth alone (a plain loop here was vectorised into
            // gathers and scatters, 60 % of this function's time on the 4×4 stage).
            for q in 0..<count {
                let dst = gradWeight + (p0 + q) * 9
                let src = rowsOut + 16 * q
                UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD8<Float>.self),
                                                        as: SIMD8<Float>.self)
                dst[8] = src[8]
            }
            p0 += 16
        }
    }
}

/// Gᵀ Z G of F(2×2, 3×3) for 16 filter pairs: `z[4i + j]` holds position ξ = 4i + j of each
/// pair's Z, tap (k, l) goes to floats 16·(3k + l)… of `taps`.
@inline(__always)
func winogradFilterGradient(_ z: UnsafePointer<SIMD16<Float>>, into taps: UnsafeMutablePointer<Float>) {
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 12) { buf in
        let h = buf.baseAddress!
        // Gᵀ Z: rows Z0 + ½(Z1 + Z2), ½(Z1 − Z2), ½(Z1 + Z2) + Z3 (per column j).
        for j in 0..<4 {
            let z0 = z[j], z1 = z[4 + j], z2 = z[8 + j], z3 = z[12 + j]
            let sum12 = 0.5 * (z1 + z2)
            h[j] = z0 + sum12
            h[4 + j] = 0.5 * (z1 - z2)
            h[8 + j] = sum12 + z3
        }
        // (Gᵀ Z) G: columns h0 + ½(h1 + h2), ½(h1 − h2), ½(h1 + h2) + h3, as tap rows 3k + l.
        for k in 0..<3 {
            let h0 = h[4 * k], h1 = h[4 * k + 1], h2 = h[4 * k + 2], h3 = h[4 * k + 3]
            let sum12 = 0.5 * (h1 + h2)
            store16(taps + 16 * (3 * k), h0 + sum12)
            store16(taps + 16 * (3 * k + 1), 0.5 * (h1 - h2))
            store16(taps + 16 * (3 * k + 2), sum12 + h3)
        }
    }
}

/// Fewest tiles per worker for which the weight gradient splits the batch's tiles among its
/// workers, each summing a private Z (16·O·C floats for F(2×2), 36·O·C for F(4×4)) over its
/// blocks, added up in the final transform. With fewer — the 4×4 stage at batch 32 has 128 tiles
/// for 262 144 filter pairs, so the private Zs (16 MB each) would outweigh the products — each
/// worker takes an equal share of the positions ξ over all tiles and writes its planes of one
/// shared Z, reading one copy of the transformed operands that the workers wrote for disjoint
/// channels just before (until the tenth session every worker transformed every tile and kept its
/// positions: 29 % of the 4×4 stage's weight gradient, half of it repeated). Measured on the 4×4
/// stage (BENCHMARKS.md, "fourth session" and "tenth session").
let winogradWeightGradMinTilesPerWorker = 256

/// V and Ŷ of tile rows [r0, r1) into the shared buffers of `workspaces` (`WinogradWeightGradWorkspace.shared`),
/// one worker per workspace, each on a disjoint share of the input and of the output channels;
/// the last image's from `lastImage` when given.
func winogradWeightGradSharedTransforms(_ s: WinogradShape, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                        lastImage: WeightGradExtraImage?, r0: Int, r1: Int,
                                        workspaces: [WinogradWeightGradWorkspace]) {
    let workers = workspaces.count
    parallelChunks(workers) { t in
        winogradWeightGradInput(s, input: input, lastImage: lastImage?.input, r0: r0, r1: r1,
                                channels: workerShare(t, of: s.C, workers: workers), ws: workspaces[t])
        winogradWeightGradOutput(s, gradOutput: gradOutput, lastImage: lastImage?.gradOutput, r0: r0, r1: r1,
                                 channels: workerShare(t, of: s.O, workers: workers), ws: workspaces[t])
    }
}

/// Tile rows per block of the weight gradient: about 256 tiles, the GEMMs' depth.
@inline(__always)
func winogradWeightGradBlockRows(_ s: WinogradShape) -> Int { max(1, 256 / max(1, s.TW)) }

/// Weight gradient of an eligible convolution (`winogradApplies(g)`) on `tile`×`tile` output
/// tiles (2 or 4), same contract as `conv2dBackwardWeight`: `gradWeight` [O, C, 3, 3] is overwritten.
/// With `extraImage` the batch has one more image, g.batch + 1 in all, read from there (its tiles
/// are the last of the GEMMs' depth); `scale` multiplies the result (`winogradWeightGradFinish`).
func conv2dBackwardWeightWinograd(_ g: Conv2dGeometry, input: UnsafePointer<Float>,
                                  gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                  tile: Int = 2, extraImage: WeightGradExtraImage? = nil, scale: Float = 1) {
    let settings = KernelSettings.current   // read once, on the thread that entered the kernel
    let s = WinogradShape(N: g.batch + (extraImage == nil ? 0 : 1), C: g.inChannels, H: g.inHeight, W: g.inWidth,
                          O: g.outChannels, ph: g.paddingHeight, pw: g.paddingWidth, tile: tile)
    let planes = s.planes
    let threads = settings.threads(forFlops: s.gemmFlops)
    if winogradWeightGradSchedulesByFilterBlocks(s, threads: threads, settings: settings) {
        winogradWeightGradByFilterBlocks(s, input: input, gradOutput: gradOutput, lastImage: extraImage, scale: scale,
                                         gradWeight: gradWeight, threads: threads, settings: settings)
        return
    }
    let rowsTotal = s.tileRows
    let splitPositions = threads > 1 && rowsTotal * s.TW < winogradWeightGradMinTilesPerWorker * threads
    // Blocks of about 256 tiles (the GEMMs' depth); split among workers, at least one each.
    var rowsPerBlock = winogradWeightGradBlockRows(s)
    if !splitPositions { rowsPerBlock = min(rowsPerBlock, (rowsTotal + threads - 1) / threads) }
    let blocks = (rowsTotal + rowsPerBlock - 1) / rowsPerBlock
    let workers = splitPositions ? min(threads, planes) : min(threads, blocks)
    let pairCount = s.O * s.C
    let copies = splitPositions ? 1 : workers   // private Zs, each [ξ][o·C + c]
    let plane = winogradPlaneStride(pairCount)
    let sums = ScratchBuffer(copies * planes * plane)
    defer { sums.free() }
    let zBase = SendablePointer(sums.p)
    let maxTiles = rowsPerBlock * s.TW
    if splitPositions {
        // Each block's transforms once, the channels shared among the workers, then its GEMMs,
        // the positions shared: worker 0's V and Ŷ are the one copy every worker writes and reads.
        let workspaces = WinogradWeightGradWorkspace.shared(s, maxTiles: maxTiles, tiling: settings.tiling,
                                                            workers: workers)
        defer { for ws in workspaces { ws.free() } }
        for b in 0..<blocks {
            let r0 = b * rowsPerBlock, r1 = min(rowsTotal, r0 + rowsPerBlock)
            winogradWeightGradSharedTransforms(s, input: input, gradOutput: gradOutput, lastImage: extraImage,
                                               r0: r0, r1: r1, workspaces: workspaces)
            parallelChunks(workers) { t in
                for xi in workerShare(t, of: planes, workers: workers) {
                    winogradWeightGradGEMM(s, xi: xi, tiles: (r1 - r0) * s.TW, accumulate: b > 0, z: zBase.p + xi * plane,
                                           ws: workspaces[t])
                }
            }
        }
    } else {
        parallelChunks(workers) { t in
            let ws = WinogradWeightGradWorkspace(s, maxTiles: maxTiles, tiling: settings.tiling)
            defer { ws.free() }
            let z = zBase.p + t * planes * plane
            let (b0, b1) = (t * blocks / workers, (t + 1) * blocks / workers)
            for b in b0..<b1 {
                let r0 = b * rowsPerBlock, r1 = min(rowsTotal, r0 + rowsPerBlock)
                winogradWeightGradInput(s, input: input, lastImage: extraImage?.input, r0: r0, r1: r1, ws: ws)
                winogradWeightGradOutput(s, gradOutput: gradOutput, lastImage: extraImage?.gradOutput, r0: r0, r1: r1,
                                         ws: ws)
                for xi in 0..<planes {
                    winogradWeightGradGEMM(s, xi: xi, tiles: (r1 - r0) * s.TW, accumulate: b > b0, z: z + xi * plane,
                                           ws: ws)
                }
            }
        }
    }
    let out = SendablePointer(gradWeight)
    let groups = (pairCount + 15) / 16
    parallelFor(groups, threads: settings.threadCount, minimumWorkPerThread: threads > 1 ? 64 : groups) { range in
        winogradWeightGradFinish(pairs: (range.lowerBound * 16)..<min(pairCount, range.upperBound * 16),
                                 sums: zBase.p, copies: copies, plane: plane, tile: tile, scale: scale,
                                 gradWeight: out.p)
    }
}
