// Winograd F(2×2, 3×3) convolution for 3×3, stride-1 layers (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", CVPR 2016).
//
// The output is cut into 2×2 tiles; tile (i, j) covers output rows 2i, 2i+1 and columns 2j, 2j+1
// and reads the 4×4 input patch d at rows 2i − ph + 0…3, columns 2j − pw + 0…3 (zero outside).
// For one input channel and one filter g (3×3),
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
//   Bᵀ = [1  0 −1  0]     G = [1    0    0]     Aᵀ = [1  1  1  0]
//        [0  1  1  0]         [½    ½    ½]          [0  1 −1 −1]
//        [0 −1  1  0]         [½   −½    ½]
//        [0  1  0 −1]         [0    0    1]
//
// Summed over input channels, every position ξ = 4a + b of the 4×4 transformed tile is one GEMM
//
//   M_ξ[o, t] = Σ_c U_ξ[o, c] · V_ξ[c, t],    U = G g[o, c] Gᵀ,   V = Bᵀ d[c, t] B,
//
// followed by Y[o, t] = Aᵀ M[o, t] A: 16 products per 2×2 outputs instead of 36 (2.25× fewer
// flops than the direct convolution). The backward-input pass of a stride-1 3×3 convolution is
// itself such a convolution (padding 2 − p, filters flipped and with in/out swapped), so it runs
// through the same code with `adjoint` weights.
//
// The same driver runs F(4×4, 3×3) (`WinogradShape.tile` = 4; its transforms, 6×6 patches and 36
// positions ξ in Conv2dWinogradLargeTiles.swift): 36 products per 4×4 outputs, 4× fewer than the
// direct convolution, where there are enough tiles (`winogradLargeTilesApply`).
//
// Work is done in blocks of whole tile rows (image n, tile row i): the block's V is written straight
// into the packed B layout of the micro-kernel ([panel][c][32 tiles]), the 16 (36) GEMMs run on it with
// the weights packed once per call, and the output transform writes Y; the buffers of one block stay
// in the cache hierarchy instead of streaming the 4× larger transformed tensors through memory.
// Workers take disjoint runs of blocks.

import CKernelHints

/// The Winograd path of 3×3, stride-1 convolutions. It is on unless `KernelSettings.winograd`
/// is off (tests and benchmarks turn it off for a scope to compare with the direct implicit GEMM).
public enum Conv2dWinograd {
    /// Whether `conv2dForward` / `conv2dBackwardInput` take the Winograd path for `g` on F(2×2, 3×3)
    /// tiles where F(4×4) does not (`appliesLargeTiles(to:)`), or with `KernelSettings.winogradLargeTiles`
    /// off (while enabled). The path runs where either holds.
    public static func applies(to g: Conv2dGeometry) -> Bool { winogradApplies(g) }

    /// Whether `conv2dBackwardWeight` takes the Winograd path for `g` on F(2×2, 3×3) tiles where
    /// F(4×4) does not, or with large tiles off (while enabled).
    public static func appliesToWeightGradient(_ g: Conv2dGeometry) -> Bool { winogradWeightGradApplies(g) }

    /// Whether `conv2dForward` / `conv2dBackwardInput` take the Winograd path for `g` on F(4×4, 3×3)
    /// tiles (while enabled and `KernelSettings.winogradLargeTiles` is on), whether or not F(2×2)
    /// would take it (from 32 channels, on tile rows of any width).
    public static func appliesLargeTiles(to g: Conv2dGeometry) -> Bool { winogradLargeTilesApply(g) }

    /// Whether `conv2dBackwardWeight` takes the Winograd path for `g` on F(4×4, 3×3) tiles.
    public static func appliesLargeTilesToWeightGradient(_ g: Conv2dGeometry) -> Bool {
        winogradWeightGradLargeTilesApply(g)
    }
}

/// Smallest channel count (in and out) for which the Winograd path pays for its transforms.
let winogradMinChannels = 64

/// Where the Winograd path pays for its transforms, for each micro-kernel tiling: the transforms
/// are the same code on every machine, but the GEMMs they save run on a different register tile,
/// so each tiling's bounds were measured on a machine that selects it (`GEMMTiling.detected`).
struct WinogradThresholds {
    /// Fewest 2×2 output tiles (over the batch) for any pass.
    let minTiles: Int
    /// Fewest 2×2 output tiles for the weight gradient, whose GEMMs have the tiles as their depth.
    let weightGradMinTiles: Int
    /// Fewest 4×4 output tiles for the forward and backward-input passes to take F(4×4, 3×3)
    /// (`winogradLargeTilesApply`, Conv2dWinogradLargeTiles.swift): its 36 transformed filter
    /// planes are 2.25× F(2×2)'s 16, read once per block of tiles.
    let largeTileMinTiles: Int
    /// Fewest 4×4 output tiles for the weight gradient to take F(4×4, 3×3)
    /// (`winogradWeightGradLargeTilesApply`): the tiles are its GEMMs' depth.
    let weightGradLargeTileMinTiles: Int

    /// 12×32 register tile (AVX-512). Measured on an AMD Zen 4 (AVX-512 on 256-bit units,
    /// 2026-12-07, issue 17's seventh session; BENCHMARKS.md "seventh session"): Winograd ÷ direct,
    /// `lcnn bench kernels --filter resnet` with both paths in one process, best of three rounds,
    /// two threads. Batch 32: 64 channels at 32×32 0.64 / 0.62 / 0.73 (forward / backward-input /
    /// weight gradient), 128 at 16×16 0.54 / 0.57 / 0.63, 256 at 8×8 0.54 / 0.54 / 0.65, 512 at
    /// 4×4 (128 tiles, 2048 filter pairs per tile) 0.62 / 0.66 / 0.79. Single images: 64 at 32×32
    /// (256 tiles) 0.90 / 0.90 / 0.95, 128 at 16×16 (64 tiles) 0.95 / 0.91 / 1.11 — the weight
    /// gradient's 64-deep GEMMs do not pay for its transforms, hence its own tile bound, at the
    /// fewest tiles where it was measured faster (128, the 512-channel stage). The
    /// earlier bounds (≥ 512 tiles, ≤ 256 filter pairs per tile, C + O ≤ 256 for the weight
    /// gradient) were measured on a Zen 5 before the transforms gathered narrow tile rows; here
    /// they kept the 256- and 512-channel stages on a direct path 1.27–1.61× slower.
    ///
    /// F(4×4, 3×3) from 64 tiles of 4×4, every pass (issue 17's eighth session, same machine;
    /// `lcnn bench kernels`' `_small_tiles` twins, F(4×4) ÷ F(2×2) per call): batch 32, 64 at
    /// 32×32 (2048 tiles) 0.70 / 0.76 / 0.75 (forward / backward-input / weight gradient), 128 at
    /// 16×16 (512) 0.79 / 0.81 / 0.89, 256 at 8×8 (128) 0.84 / 0.82 / 0.83; one image of 64 at
    /// 32×32 (64 tiles) faster in both runs (0.42 / 0.39 / 0.52 against 0.69 / 0.67 / 0.69 ms);
    /// slower with fewer: 512 at 4×4, batch 32 (32 tiles) 15.7 / 14.3 / 13.6 against 9.5 / 9.5 /
    /// 11.4 ms, one image of 128 at 16×16 (16 tiles) 1.18 / 1.31 against 0.72 / 0.54 ms — the
    /// 36 planes of packed filters (2.25× F(2×2)'s) are then read for too few tiles.
    static let wide = WinogradThresholds(minTiles: 64, weightGradMinTiles: 128, largeTileMinTiles: 64,
                                         weightGradLargeTileMinTiles: 64)

    /// 6×16 register tile (AVX2, 2026-12-07, with the transforms gathering narrow tile rows;
    /// Winograd ÷ direct, best of five rounds alternating, two threads, scratch harness over the
    /// dispatch entry points; BENCHMARKS.md "fourth session"). Forward / backward-input / weight
    /// gradient: single images of 64 channels at 32×32 (256 tiles) 0.75 / 0.78 / 0.76, of 128 at
    /// 16×16 (64 tiles) 0.87 / 0.79 / 0.90, of 256 at 8×8 (16 tiles) 2.19 / 2.06 / 2.04 — the
    /// 16·O·C transformed filters then outweigh the products saved, hence the tile bound; the
    /// 512-channel 4×4 stage at batch 32 (128 tiles, 2048 pairs per tile) 0.64 / 0.67 / 0.82.
    /// The F(4×4, 3×3) bounds are the wide tiling's, not measured on an AVX2 machine (none was
    /// available when F(4×4) was added); its F(2×2) tile bound was the same 64.
    static let narrow = WinogradThresholds(minTiles: 64, weightGradMinTiles: 64, largeTileMinTiles: 64,
                                           weightGradLargeTileMinTiles: 64)

    /// The bounds for `tiling`.
    static func of(_ tiling: GEMMTiling) -> WinogradThresholds { tiling == .wide ? .wide : .narrow }
}

/// 2×2 output tiles of `g` over the batch.
@inline(__always)
func winogradTiles(_ g: Conv2dGeometry) -> Int { g.batch * ((g.outHeight + 1) / 2) * ((g.outWidth + 1) / 2) }

/// At least `minTiles` output tiles for the current tiling.
@inline(__always)
func winogradHasEnoughTiles(_ g: Conv2dGeometry) -> Bool {
    winogradTiles(g) >= WinogradThresholds.of(KernelSettings.current.tiling).minTiles
}

/// Tile-row widths whose 16-tile chunks always land on whole vector stores (`storeTileLanes`):
/// multiples of 16, or divisors of 16.
@inline(__always)
func winogradTileWidthIsAligned(_ tw: Int) -> Bool { tw > 0 && (tw % 16 == 0 || 16 % tw == 0) }

/// True when `g` is a 3×3, stride-1 convolution with padding ≤ 2, ≥ 64 channels in and out,
/// enough output tiles for the current tiling (`winogradHasEnoughTiles`), and tile rows whose
/// widths suit the vector stores in both passes (ceil(OW/2) and ceil(W/2) are multiples or
/// divisors of 16, e.g. the 32, 16, 8 and 4-pixel stages of the CIFAR ResNets). Other shapes are
/// correct on the Winograd path too but measured slower than the implicit GEMM.
func winogradApplies(_ g: Conv2dGeometry) -> Bool {
    winogradFits(g, minChannels: winogradMinChannels) && winogradHasEnoughTiles(g)
        && winogradTileWidthIsAligned((g.outWidth + 1) / 2) && winogradTileWidthIsAligned((g.inWidth + 1) / 2)
}

/// True while the Winograd path is on (`KernelSettings.winograd`) for a non-empty 3×3, stride-1
/// convolution with padding ≤ 2 and at least `minChannels` channels in and out: the shapes the
/// Winograd driver computes; which of them it is faster on is each rule's own bound.
func winogradFits(_ g: Conv2dGeometry, minChannels: Int) -> Bool {
    KernelSettings.current.winograd && g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideHeight == 1 && g.strideWidth == 1
        && (0...2).contains(g.paddingHeight) && (0...2).contains(g.paddingWidth)
        && g.inChannels >= minChannels && g.outChannels >= minChannels
        && g.outHeight > 0 && g.outWidth > 0 && g.batch > 0
}

/// Shape of one Winograd convolution: input [N, C, H, W] → output [N, O, OH, OW], 3×3 filters,
/// stride 1, paddings ph, pw; output tiles of `tile` × `tile` pixels (2 for F(2×2, 3×3), 4 for
/// F(4×4, 3×3), Conv2dWinogradLargeTiles.swift), TH × TW of them per image.
struct WinogradShape {
    let N: Int, C: Int, H: Int, W: Int, O: Int, ph: Int, pw: Int
    /// Output pixels per tile side: 2 or 4.
    var tile = 2
    var OH: Int { H + 2 * ph - 2 }
    var OW: Int { W + 2 * pw - 2 }
    var TH: Int { (OH + tile - 1) / tile }
    var TW: Int { (OW + tile - 1) / tile }
    /// Input pixels per patch side: tile + 2.
    var patch: Int { tile + 2 }
    /// Positions ξ of a transformed tile, one GEMM each: (tile + 2)².
    var planes: Int { patch * patch }
    /// Tile rows over the batch (image n, tile row i ↦ n·TH + i).
    var tileRows: Int { N * TH }
    /// Flops of the `planes` GEMMs.
    var gemmFlops: Double { 2.0 * Double(planes) * Double(O) * Double(C) * Double(tileRows * TW) }
}

// MARK: - Planes

/// Floats from one ξ plane to the next in a buffer of 16 (36) planes of `count` floats: at least
/// `count`, rounded to an odd number of 64-byte lines. The transforms store (and the output
/// transform loads) the same offset in all planes at once; with plane sizes that are multiples
/// of 4 KB (64 channels × 96 tiles, 516 × 512 packed filters, …) those lines fall in one set of the
/// 8-way L1 cache and evict each other. An odd line count puts them in as many different sets
/// (an odd stride is invertible modulo the 64 sets, so up to 64 planes never share one).
@inline(__always)
func winogradPlaneStride(_ count: Int) -> Int { (((count + 15) / 16) | 1) * 16 }

/// Floats from one ξ plane of packed filters (`winogradPackWeights`) to the next.
@inline(__always)
func winogradPackedWeightPlane(rows: Int, depth: Int) -> Int { winogradPlaneStride(packedRows(rows) * depth) }

// MARK: - Weights

/// Transforms and packs the filters once per call: for every ξ < (tile + 2)², the micro-kernel's
/// packed A of U_ξ (rows = output channels of the Winograd convolution, K = its input channels), at
/// `dst + ξ·winogradPackedWeightPlane(rows:depth:)` (at least ⌈rows/12⌉·12·K floats apart), i.e.
/// U_ξ[row, k] at `(row/12)·K·12 + k·12 + row % 12` within its plane.
///
/// `weight` is [O, C, 3, 3]. Forward (`adjoint == false`): rows o < O, K = C, U_ξ[o, c] =
/// (G g[o, c] Gᵀ)_ξ. Adjoint: rows c < C, K = O, U_ξ[c, o] = (G ğ[o, c] Gᵀ)_ξ with ğ the filter
/// rotated by 180°, the weights of the backward-input convolution. G is F(2×2, 3×3)'s 4×3 matrix
/// for `tile` 2, F(4×4, 3×3)'s 6×3 one for `tile` 4. Each step transforms the 12 filters of one
/// packed row panel at one k, so the results are stored straight into the panel.
func winogradPackWeights(_ weight: UnsafePointer<Float>, O: Int, C: Int, adjoint: Bool, tile: Int = 2,
                         into dst: UnsafeMutablePointer<Float>, threads: Int, settings: KernelSettings) {
    let rows = adjoint ? C : O, depth = adjoint ? O : C
    let items = packedRows(rows) / gemmMR * depth
    let xiStride = winogradPackedWeightPlane(rows: rows, depth: depth)
    let out = SendablePointer(dst)
    parallelFor(items, threads: settings.threadCount, minimumWorkPerThread: threads > 1 ? 64 : items) { range in
        winogradPackWeightItems(weight, O: O, C: C, adjoint: adjoint, tile: tile, items: range, firstPanel: 0,
                                into: out.p, planeStride: xiStride)
    }
}

/// The serial body of `winogradPackWeights`: items `items` (item = panel·depth + k, one packed
/// row panel at one k) written to `dst` as if its panel `firstPanel` were panel 0, with
/// `planeStride` floats between ξ planes — the whole packing (`firstPanel` 0) or the panels of one
/// block of filters (`winogradConvolutionByFilterBlocks`).
func winogradPackWeightItems(_ weight: UnsafePointer<Float>, O: Int, C: Int, adjoint: Bool, tile: Int,
                             items: Range<Int>, firstPanel: Int, into dst: UnsafeMutablePointer<Float>,
                             planeStride xiStride: Int) {
    let rows = adjoint ? C : O, depth = adjoint ? O : C
    // Filter (row r, k) sits at weight + (o·C + c)·9: consecutive rows are 9 floats apart in the
    // adjoint (rows = c) and C·9 apart forward (rows = o).
    let rowStep = adjoint ? 9 : C * 9, kStep = adjoint ? C * 9 : 9
    // The filters of an item `lookahead` items on are prefetched: forward, an item reads 36 bytes
    // from each of 12 rows C·36 bytes apart, too many short streams for the hardware prefetchers
    // to follow (at 512 channels 43 % of this function's samples sat on the first load that
    // depended on them); adjoint, 432 contiguous bytes C·36 bytes after the previous item's. The
    // last items' hints point past the filters, which a prefetch may (it never faults).
    let lookahead = (adjoint ? 2 : 8) * kStep
    // Filters that start at least 16 floats before the end are staged with one 16-float move
    // (taps 0–8 and seven floats of the next filter, which the transform never reads), so the
    // transpose's vector load of the staged row is forwarded from a single store.
    let lastWideStart = O * C * 9 - 16   // offset of the last filter start with 16 floats after it
    let planes = (tile + 2) * (tile + 2)
    // 16 staged rows, 16 transposed tap vectors, 9 taps (padded to 16), 36 transformed positions.
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 84) { buf in
        let vectors = buf.baseAddress!
        let stage = UnsafeMutableRawPointer(vectors).assumingMemoryBound(to: Float.self)
        let taps = stage + 256
        let g = vectors + 32, u = vectors + 48
        stage.update(repeating: 0, count: 256)
        for item in items {
            let q = item / depth, k = item - q * depth
            let r0 = q * gemmMR
            let count = min(gemmMR, rows - r0)
            let src = weight + r0 * rowStep + k * kStep
            for r in 0..<count { lcnn_prefetch_for_read(src + lookahead + r * rowStep) }
            for r in 0..<count {
                let f = src + r * rowStep
                let row = stage + 16 * r
                if f - weight <= lastWideStart {
                    store16(row, load16(f))
                } else {
                    for t in 0..<9 { row[t] = f[t] }
                }
            }
            if count < gemmMR {
                for r in count..<gemmMR { store16(stage + 16 * r, SIMD16<Float>()) }
            }
            transpose16x16(stage, 16, taps, 16)
            for t in 0..<9 { g[t] = load16(taps + 16 * (adjoint ? 8 - t : t)) }
            if tile == 4 { winogradLargeTileFilterTransform(g, into: u) } else { winogradFilterTransform(g, into: u) }
            let d = dst + (q - firstPanel) * depth * gemmMR + k * gemmMR
            for xi in 0..<planes {
                let v = u[xi]
                let p = UnsafeMutableRawPointer(d + xi * xiStride)
                p.storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
                p.storeBytes(of: SIMD4<Float>(v[8], v[9], v[10], v[11]), toByteOffset: 32, as: SIMD4<Float>.self)
            }
        }
    }
}

/// U = G g Gᵀ for 16 filters at once; `g[3i + j]` holds tap (i, j) of each filter, `u[4a + b]`
/// receives position ξ = 4a + b of U (`u` has room for 16 vectors and is used as scratch).
@inline(__always)
func winogradFilterTransform(_ g: UnsafePointer<SIMD16<Float>>, into u: UnsafeMutablePointer<SIMD16<Float>>) {
    // t = G g (4×3): rows g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2.
    var t = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
             SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
    withUnsafeMutableBytes(of: &t) { raw in
        let t = raw.baseAddress!.assumingMemoryBound(to: SIMD16<Float>.self)
        for j in 0..<3 {
            let g0 = g[j], g1 = g[3 + j], g2 = g[6 + j]
            t[j] = g0
            t[3 + j] = 0.5 * (g0 + g1 + g2)
            t[6 + j] = 0.5 * (g0 - g1 + g2)
            t[9 + j] = g2
        }
        // U = t Gᵀ (4×4): columns t0, ½(t0 + t1 + t2), ½(t0 − t1 + t2), t2.
        for a in 0..<4 {
            let t0 = t[3 * a], t1 = t[3 * a + 1], t2 = t[3 * a + 2]
            u[4 * a] = t0
            u[4 * a + 1] = 0.5 * (t0 + t1 + t2)
            u[4 * a + 2] = 0.5 * (t0 - t1 + t2)
            u[4 * a + 3] = t2
        }
    }
}

// MARK: - Blocks

/// Per-worker buffers for blocks of at most `maxTiles` tiles.
struct WinogradWorkspace {
    /// Transformed input, per ξ: [panel][c < C][32 tiles] (the packed B layout).
    let v: ScratchBuffer
    /// GEMM results, per ξ: [o < O][ldm].
    let m: ScratchBuffer
    /// Four zero-padded input rows of `rowWidth` floats.
    let rows: ScratchBuffer
    let vStride: Int, mStride: Int, ldm: Int, rowWidth: Int
    /// GEMM block sizes and tiling, read by the kernel entry on the calling thread.
    let kc: Int, mc: Int, tiling: GEMMTiling

    init(_ s: WinogradShape, maxTiles: Int, settings: KernelSettings) {
        kc = settings.gemmKC
        mc = settings.gemmMC
        tiling = settings.tiling
        let panels = (maxTiles + gemmNR - 1) / gemmNR
        ldm = panels * gemmNR
        vStride = winogradPlaneStride(panels * s.C * gemmNR)
        mStride = winogradPlaneStride(s.O * ldm)
        rowWidth = winogradPatchRowWidth(s)
        v = ScratchBuffer(s.planes * vStride)
        m = ScratchBuffer(s.planes * mStride + 16)
        rows = ScratchBuffer(s.patch * rowWidth)
        // Lanes past a block's last tile are multiplied but never read; keep them finite.
        v.p.update(repeating: 0, count: s.planes * vStride)
        rows.p.update(repeating: 0, count: s.patch * rowWidth)
    }

    func free() {
        v.free()
        m.free()
        rows.free()
    }
}

/// Tile rows that share one 16-lane chunk: ⌊16 / TW⌋ when at least two rows fit (tile rows of at
/// most 8 tiles: the 8-, 4- and 2-tile rows of the 16×16, 8×8 and 4×4 stages fill every lane; the
/// 6- and 7-tile rows of F(4×4) on 24–28-pixel maps, such as the SmallCNN's second convolution,
/// fill 12 or 14), else 1. Transforming those rows together instead of one per chunk keeps the
/// lanes busy: with one tile row per chunk the transforms cost the same per stage although each
/// stage has half the previous one's pixels, and a 6-tile row used 6 of 16 lanes.
@inline(__always)
func winogradRowsPerChunk(_ TW: Int) -> Int { TW <= 8 ? 16 / max(1, TW) : 1 }

/// Sources (input images, output gradients) of at least this many floats (1 MB, an L2 cache) have
/// their next channel prefetched by `forEachPatchChunk`. At exactly 1 MB — the 4×4 stage at batch
/// 32, 512 channels — the source does not stay in L2 beside the transform's buffers: without the
/// prefetch its input transform's loads missed (11.4 → 8.1 % of that forward pass's samples with
/// it, issue 17's twelfth session).
let winogradPrefetchMinSourceFloats = 1 << 18

/// Floats per zero-padded source row of a block (`forEachPatchChunk`): the tile row's
/// tile·TW + 2 columns, plus room for the vector loads of a last chunk of 16 tiles (16·tile floats
/// from its first column, and again from `tile` columns on).
@inline(__always)
func winogradPatchRowWidth(_ s: WinogradShape) -> Int { s.tile * s.TW + s.tile + 16 * s.tile }

/// Walks the `size`×`size` input patches of every tile in tile rows [r0, r1) of a [N, channels,
/// height, width] tensor, 16 tiles at a time, channel by channel (each plane is read front to
/// back): for each tile row the `size` source rows m·i − padTop + 0…size−1 (m = `s.tile`) are
/// copied into zero-padded `rows` (`rowWidth` floats apart; buffer column x + padLeft holds column
/// x, the rest stays zero), then `body(channel, l0, count)` runs with `patches` holding tiles
/// l0…l0 + count − 1 of the block (`loadPatches`' layout). Narrow tile rows are gathered
/// `winogradRowsPerChunk` at a time into one chunk (lanes past `count` then hold stale but finite
/// values). `size` is the input patch (tile + 2) or, for the weight gradient's output-gradient
/// tiles, the tile itself. `channelRange` (nil: all) restricts the walk to those channels.
/// `lastImage`, when given, is read as the shape's last image (n = N − 1) instead of the one after
/// the first N − 1 at `source`: a batch plus one image held elsewhere (the weight gradient's
/// σ̂ term, `conv2dBackwardWeight(_:input:gradOutput:extraImage:scale:gradWeight:)`).
@inline(__always)
func forEachPatchChunk(_ s: WinogradShape, source: UnsafePointer<Float>, lastImage: UnsafePointer<Float>? = nil,
                       channels: Int, height: Int, width: Int,
                       padTop: Int, padLeft: Int, size: Int, r0: Int, r1: Int, rows: UnsafeMutablePointer<Float>,
                       rowWidth: Int, patches: UnsafeMutablePointer<SIMD16<Float>>, only channelRange: Range<Int>? = nil,
                       _ body: (_ channel: Int, _ l0: Int, _ count: Int) -> Void) {
    let walked = channelRange ?? 0..<channels
    let TW = s.TW, step = s.tile
    let copyCount = min(width, step * TW + size - step - padLeft)
    // A block reads a few rows per channel plane, H·W floats apart: too short a stream for the
    // hardware prefetchers, so a source larger than an L2 cache (1 MB) has the rows of channel
    // c + 1 that a tile row reads next prefetched while channel c is copied (at batch 32, 64
    // channels and 32×32 these loads took 43 % of the input transform's time; a single image's
    // source stays in L2, and prefetching it cost 3–5 %).
    let prefetchNextChannel = s.N * channels * height * width >= winogradPrefetchMinSourceFloats
    /// Copies the `size` padded source rows of tile row r of channel c into `rows`.
    @inline(__always) func copyRows(_ c: Int, _ r: Int) {
        let n = r / s.TH, ti = r - n * s.TH
        let image = (n == s.N - 1 ? lastImage : nil) ?? source + n * channels * height * width
        let plane = image + c * height * width
        if prefetchNextChannel && c + 1 < walked.upperBound {
            let next = plane + height * width
            for i in 0..<size {
                let y = step * ti - padTop + i
                if y < 0 || y >= height { continue }
                var j = 0
                while j < copyCount { lcnn_prefetch_for_read(next + y * width + j); j += 16 }
            }
        }
        for i in 0..<size {
            let y = step * ti - padTop + i
            copyFloats(y >= 0 && y < height ? plane + y * width : nil, to: rows + i * rowWidth + padLeft,
                       count: copyCount)
        }
    }
    let group = winogradRowsPerChunk(TW)
    if group == 1 {
        for c in walked {
            for r in r0..<r1 {
                copyRows(c, r)
                var tj0 = 0
                while tj0 < TW {
                    loadPatches(rows, rowWidth: rowWidth, size: size, step: step, column: step * tj0, rightOffset: step,
                                into: patches)
                    body(c, (r - r0) * TW + tj0, min(16, TW - tj0))
                    tj0 += 16
                }
            }
        }
        return
    }
    // Gathered rows, 16·m floats each: row i holds, for the k-th tile row of the chunk, its padded
    // columns 0..<m·TW at m·TW·k; row size + i the same from column m (the patches' last two
    // columns, which the next tile's first two overlap).
    let span = step * TW, gatheredWidth = 16 * step
    let gatheredRows = size > step ? 2 * size : size
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gatheredRows * gatheredWidth) { buffer in
        let gathered = buffer.baseAddress!
        gathered.update(repeating: 0, count: gatheredRows * gatheredWidth)
        for c in walked {
            var r = r0
            while r < r1 {
                let count = min(group, r1 - r)
                for k in 0..<count {
                    copyRows(c, r + k)
                    for i in 0..<size {
                        copySpan(rows + i * rowWidth, to: gathered + gatheredWidth * i + span * k, count: span)
                        if size > step {
                            copySpan(rows + i * rowWidth + step, to: gathered + gatheredWidth * (size + i) + span * k,
                                     count: span)
                        }
                    }
                }
                loadPatches(gathered, rowWidth: gatheredWidth, size: size, step: step, column: 0,
                            rightOffset: gatheredWidth * size, into: patches)
                body(c, (r - r0) * TW, count * TW)
                r += count
            }
        }
    }
}

/// V = Bᵀ d B for the input tiles of tile rows [r0, r1), 16 at a time: `body(channel, l0, count, v)`
/// receives `v[ξ]` (ξ < `s.planes`) for tiles l0…l0 + count − 1 of the block (the forward pass and
/// the weight gradient store them in their own layouts); `channelRange` and `lastImage` as in
/// `forEachPatchChunk`.
@inline(__always)
func forEachTransformedInputChunk(_ s: WinogradShape, input: UnsafePointer<Float>, lastImage: UnsafePointer<Float>? = nil,
                                  r0: Int, r1: Int,
                                  rows: UnsafeMutablePointer<Float>, rowWidth: Int, only channelRange: Range<Int>? = nil,
                                  _ body: (_ channel: Int, _ l0: Int, _ count: Int, _ v: UnsafePointer<SIMD16<Float>>) -> Void) {
    let planes = s.planes
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 2 * planes) { buf in
        let d = buf.baseAddress!, v = d + planes
        forEachPatchChunk(s, source: input, lastImage: lastImage, channels: s.C, height: s.H, width: s.W,
                          padTop: s.ph, padLeft: s.pw,
                          size: s.patch, r0: r0, r1: r1, rows: rows, rowWidth: rowWidth, patches: d,
                          only: channelRange) { c, l0, count in
            if s.tile == 4 { winogradLargeTileDataTransform(d, into: v) } else { winogradDataTransform(d, into: v) }
            body(c, l0, count, v)
        }
    }
}

/// V = Bᵀ d B for the tiles of tile rows [r0, r1) into `ws.v` (tile t of the block is lane t % 32
/// of panel t / 32).
func winogradInputTransform(_ s: WinogradShape, input: UnsafePointer<Float>, r0: Int, r1: Int,
                            ws: WinogradWorkspace) {
    forEachTransformedInputChunk(s, input: input, r0: r0, r1: r1, rows: ws.rows.p, rowWidth: ws.rowWidth) { c, l0, count, v in
        storeTileLanes(v, planes: s.planes, into: ws.v.p, planeStride: ws.vStride, channels: s.C, channel: c, l0: l0,
                       count: count)
    }
}

/// Loads the `size`×`size` patches of 16 consecutive tiles, `step` columns apart, from padded
/// rows: `d[size·i + j]` holds, for tile q, element (i, j), from column `column + step·q + j` of
/// row i (`rowWidth` floats apart). F(2×2) (`step` 2) input tiles (`size` 4) read columns j = 2, 3
/// `rightOffset` floats after columns 0, 1 (2 in a plain row; gathered rows keep them apart), its
/// output-gradient tiles have `size` 2; F(4×4) (`step` 4, `largeTilePatches`) likewise with
/// `size` 6 and 4.
@inline(__always)
func loadPatches(_ rowBuffer: UnsafePointer<Float>, rowWidth: Int, size: Int, step: Int, column: Int,
                 rightOffset: Int, into d: UnsafeMutablePointer<SIMD16<Float>>) {
    if step == 4 {
        largeTilePatches(rowBuffer, rowWidth: rowWidth, size: size, column: column, rightOffset: rightOffset, into: d)
        return
    }
    for i in 0..<size {
        let p = rowBuffer + i * rowWidth + column
        let lo = load16(p), hi = load16(p + 16)
        d[size * i] = evenLanes(lo, hi)
        d[size * i + 1] = oddLanes(lo, hi)
        if size == 4 {
            let lo2 = load16(p + rightOffset), hi2 = load16(p + rightOffset + 16)
            d[size * i + 2] = evenLanes(lo2, hi2)
            d[size * i + 3] = oddLanes(lo2, hi2)
        }
    }
}

/// Copies `count` floats (the spans of gathered tile rows, short source rows, outputs) with vector
/// moves of 16, 8 and 4 floats, the last up to three one by one.
@inline(__always)
func copySpan(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
    let from = UnsafeRawPointer(src), to = UnsafeMutableRawPointer(dst)
    var j = 0
    while j + 16 <= count {
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self), toByteOffset: 4 * j,
                      as: SIMD16<Float>.self)
        j += 16
    }
    if j + 8 <= count {
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self), toByteOffset: 4 * j,
                      as: SIMD8<Float>.self)
        j += 8
    }
    if j + 4 <= count {
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * j, as: SIMD4<Float>.self), toByteOffset: 4 * j,
                      as: SIMD4<Float>.self)
        j += 4
    }
    while j < count { dst[j] = src[j]; j += 1 }
}

/// Copies `count` floats from `src` (zeros when nil) with vector moves of 16, 8 and 4 floats:
/// these rows are short (4 and 8 floats on the 4×4 and 8×8 stages), and neither a memmove call
/// per row nor a float-by-float tail pays there.
@inline(__always)
func copyFloats(_ src: UnsafePointer<Float>?, to dst: UnsafeMutablePointer<Float>, count: Int) {
    if let src { copySpan(src, to: dst, count: count) } else { zeroSpan(dst, count: count) }
}

/// Writes `count` zeros with vector stores of 16, 8 and 4 floats, the last up to three one by one.
@inline(__always)
func zeroSpan(_ dst: UnsafeMutablePointer<Float>, count: Int) {
    let to = UnsafeMutableRawPointer(dst)
    var j = 0
    while j + 16 <= count { to.storeBytes(of: SIMD16<Float>(), toByteOffset: 4 * j, as: SIMD16<Float>.self); j += 16 }
    if j + 8 <= count { to.storeBytes(of: SIMD8<Float>(), toByteOffset: 4 * j, as: SIMD8<Float>.self); j += 8 }
    if j + 4 <= count { to.storeBytes(of: SIMD4<Float>(), toByteOffset: 4 * j, as: SIMD4<Float>.self); j += 4 }
    while j < count { dst[j] = 0; j += 1 }
}

/// V = Bᵀ d B for 16 tiles at once; `d[4i + j]` is element (i, j) of each 4×4 patch and `v[4a + b]`
/// receives position ξ = 4a + b.
@inline(__always)
func winogradDataTransform(_ d: UnsafePointer<SIMD16<Float>>, into v: UnsafeMutablePointer<SIMD16<Float>>) {
    for j in 0..<4 {
        // Column j of Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
        let d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j]
        v[j] = d0 - d2
        v[4 + j] = d1 + d2
        v[8 + j] = d2 - d1
        v[12 + j] = d1 - d3
    }
    for a in 0..<4 {
        // Row a of (Bᵀ d) B: columns e0 − e2, e1 + e2, e2 − e1, e1 − e3.
        let e0 = v[4 * a], e1 = v[4 * a + 1], e2 = v[4 * a + 2], e3 = v[4 * a + 3]
        v[4 * a] = e0 - e2
        v[4 * a + 1] = e1 + e2
        v[4 * a + 2] = e2 - e1
        v[4 * a + 3] = e1 - e3
    }
}

/// Stores lanes 0..<count of v[ξ] as tiles l0… of channel `channel` in the packed V of every
/// ξ < `planes` (plane ξ at `base + ξ·planeStride`). A full vector store is used when it stays
/// inside the panel row (lanes past `count` then land on later tiles of the same row, written
/// afterwards, or on unused lanes).
@inline(__always)
func storeTileLanes(_ v: UnsafePointer<SIMD16<Float>>, planes: Int, into base: UnsafeMutablePointer<Float>,
                    planeStride: Int, channels: Int, channel: Int, l0: Int, count: Int) {
    let lane = l0 % gemmNR
    let offset = (l0 / gemmNR) * channels * gemmNR + channel * gemmNR + lane
    if lane + 16 <= gemmNR {
        for xi in 0..<planes { store16(base + xi * planeStride + offset, v[xi]) }
    } else if lane + 8 <= gemmNR && count <= 8 {
        for xi in 0..<planes {
            UnsafeMutableRawPointer(base + xi * planeStride + offset).storeBytes(of: v[xi].lowHalf, as: SIMD8<Float>.self)
        }
    } else if lane + 4 <= gemmNR && count <= 4 {
        for xi in 0..<planes {
            UnsafeMutableRawPointer(base + xi * planeStride + offset).storeBytes(of: v[xi].lowHalf.lowHalf,
                                                                              as: SIMD4<Float>.self)
        }
    } else {
        for q in 0..<count {
            let l = l0 + q
            let o = (l / gemmNR) * channels * gemmNR + channel * gemmNR + l % gemmNR
            for xi in 0..<planes { base[xi * planeStride + o] = v[xi][q] }
        }
    }
}

/// M_ξ = U_ξ · V_ξ for the block's `tiles` tiles (K = C, rows = O), in the workspace's buffers.
func winogradBlockGEMM(_ s: WinogradShape, packedWeights: UnsafePointer<Float>, tiles: Int,
                       ws: WinogradWorkspace) {
    winogradGEMMs(s, packedWeights: packedWeights, planeStride: winogradPackedWeightPlane(rows: s.O, depth: s.C),
                  rows: s.O, tiles: tiles, v: ws.v.p, vStride: ws.vStride, m: ws.m.p, mStride: ws.mStride, ldm: ws.ldm,
                  kc: ws.kc, mc: ws.mc, tiling: ws.tiling)
}

/// M_ξ[row, t] = Σ_c U_ξ[row, c]·V_ξ[c, t] for every ξ, rows < `rows`, tiles t < `tiles` (K = C):
/// U_ξ packed by `winogradPackWeights` at `packedWeights + ξ·planeStride`, V_ξ in the packed B
/// layout at `v + ξ·vStride`, M_ξ row-major with `ldm` floats per row at `m + ξ·mStride`.
func winogradGEMMs(_ s: WinogradShape, packedWeights: UnsafePointer<Float>, planeStride: Int, rows M: Int, tiles: Int,
                   v: UnsafePointer<Float>, vStride: Int, m: UnsafeMutablePointer<Float>, mStride: Int, ldm: Int,
                   kc kcBlock: Int, mc mcBlock: Int, tiling: GEMMTiling) {
    let K = s.C
    let panels = (tiles + gemmNR - 1) / gemmNR
    for xi in 0..<s.planes {
        let a = packedWeights + xi * planeStride
        let b = v + xi * vStride
        let out = m + xi * mStride
        var pc = 0
        while pc < K {
            let kc = min(kcBlock, K - pc)
            var ic = 0
            while ic < M {
                let mc = min(mcBlock, M - ic)
                for q in 0..<panels {
                    let bPanel = b + q * K * gemmNR + pc * gemmNR
                    var ir = ic
                    while ir < ic + mc {
                        runMicroKernel(kc: kc, a: a + ir * K + pc * gemmMR, b: bPanel, c: out + ir * ldm + q * gemmNR,
                                       ldc: ldm, beta: pc > 0 ? 1 : 0, mr: min(gemmMR, M - ir), nr: gemmNR,
                                       tiling: tiling)
                        ir += gemmMR
                    }
                }
                ic += mc
            }
            pc += kc
        }
    }
}

/// Y = Aᵀ M A for the tiles of tile rows [r0, r1), written to `output` [N, O, OH, OW], from the
/// workspace's M.
func winogradOutputTransform(_ s: WinogradShape, output: UnsafeMutablePointer<Float>, r0: Int, r1: Int,
                             ws: WinogradWorkspace) {
    winogradOutputTransform(s, output: output, r0: r0, r1: r1, channels: 0..<s.O, m: ws.m.p, mStride: ws.mStride,
                            ldm: ws.ldm)
}

/// Y = Aᵀ M A for output channels `channels` and the tiles of tile rows [r0, r1), written to
/// `output` [N, O, OH, OW]: M_ξ[o, l] (l the tile's index from tile row r0 on) at
/// `m + ξ·mStride + (o − channels.lowerBound)·ldm + l`.
func winogradOutputTransform(_ s: WinogradShape, output: UnsafeMutablePointer<Float>, r0: Int, r1: Int,
                             channels: Range<Int>, m mBase: UnsafePointer<Float>, mStride: Int, ldm: Int) {
    let TW = s.TW, OH = s.OH, OW = s.OW, O = s.O, tile = s.tile, planes = s.planes
    let group = winogradRowsPerChunk(TW), span = tile * TW, chunkWidth = 16 * tile
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: planes + 4) { buf in
        let m = buf.baseAddress!
        let temp = UnsafeMutableRawPointer(m + planes).assumingMemoryBound(to: Float.self)
        /// Output row a of the 16 tiles in `m` into `temp`, tile q's `tile` pixels at tile·q….
        @inline(__always) func outputRow(_ a: Int) {
            if tile == 4 { winogradLargeTileOutputRow(m, a, into: temp) } else { winogradOutputRow(m, a, into: temp) }
        }
        for o in channels {
            let mChannel = mBase + (o - channels.lowerBound) * ldm
            if group > 1 {
                // `group` narrow tile rows per chunk: tile row k's pixels are floats tile·TW·k… of the row.
                var r = r0
                while r < r1 {
                    let count = min(group, r1 - r)
                    let mRow = mChannel + (r - r0) * TW
                    for xi in 0..<planes { m[xi] = load16(mRow + xi * mStride) }
                    if tile == 4 { winogradLargeTileOutputColumns(m) }
                    for a in 0..<tile {
                        outputRow(a)
                        for k in 0..<count {
                            let n = (r + k) / s.TH, ti = r + k - n * s.TH
                            let y = tile * ti + a
                            if y >= OH { continue }
                            copySpan(temp + span * k, to: output + ((n * O + o) * OH + y) * OW, count: min(span, OW))
                        }
                    }
                    r += count
                }
                continue
            }
            for r in r0..<r1 {
                let n = r / s.TH, ti = r - n * s.TH
                let plane = output + (n * O + o) * OH * OW
                let mRow = mChannel + (r - r0) * TW
                var tj0 = 0
                while tj0 < TW {
                    for xi in 0..<planes { m[xi] = load16(mRow + xi * mStride + tj0) }
                    if tile == 4 { winogradLargeTileOutputColumns(m) }
                    for a in 0..<tile {
                        let y = tile * ti + a
                        if y >= OH { break }
                        outputRow(a)
                        copyFloats(temp, to: plane + y * OW + tile * tj0, count: min(chunkWidth, OW - tile * tj0))
                    }
                    tj0 += 16
                }
            }
        }
    }
}

/// Output row a (0 or 1) of F(2×2, 3×3) for the 16 tiles in `m` (m[ξ], ξ = 4i + j), interleaved
/// into `row`: tile q's two pixels at 2q, 2q + 1.
@inline(__always)
func winogradOutputRow(_ m: UnsafePointer<SIMD16<Float>>, _ a: Int, into row: UnsafeMutablePointer<Float>) {
    // Aᵀ M: rows m0 + m1 + m2 and m1 − m2 − m3 (per column j); then the same across columns.
    let s0 = a == 0 ? m[0] + m[4] + m[8] : m[4] - m[8] - m[12]
    let s1 = a == 0 ? m[1] + m[5] + m[9] : m[5] - m[9] - m[13]
    let s2 = a == 0 ? m[2] + m[6] + m[10] : m[6] - m[10] - m[14]
    let s3 = a == 0 ? m[3] + m[7] + m[11] : m[7] - m[11] - m[15]
    let left = s0 + s1 + s2, right = s1 - s2 - s3
    store16(row, zipLow(left, right))
    store16(row + 16, zipHigh(left, right))
}

// MARK: - Driver

/// Winograd convolution of `input` [N, C, H, W] with filters already transformed and packed by
/// `winogradPackWeights` (rows O, K = C), written to `output` [N, O, OH, OW] (overwritten).
func winogradConvolution(_ s: WinogradShape, input: UnsafePointer<Float>, packedWeights: UnsafePointer<Float>,
                         output: UnsafeMutablePointer<Float>, threads: Int, settings: KernelSettings) {
    let rowsTotal = s.tileRows
    // About 800 KB of V and M per block (measured best between 400 KB and 3 MB on the ResNet-18
    // layers, F(2×2)), at least 64 tiles, and at least one block per worker.
    let targetTiles = max(64, min(512, 200_000 / (s.planes * (s.C + s.O))))
    var rowsPerBlock = max(1, targetTiles / max(1, s.TW))
    rowsPerBlock = min(rowsPerBlock, (rowsTotal + threads - 1) / threads)
    let blocks = (rowsTotal + rowsPerBlock - 1) / rowsPerBlock
    let workers = min(threads, blocks)
    let out = SendablePointer(output)
    parallelChunks(workers) { t in
        let ws = WinogradWorkspace(s, maxTiles: rowsPerBlock * s.TW, settings: settings)
        defer { ws.free() }
        let b0 = t * blocks / workers, b1 = (t + 1) * blocks / workers
        for b in b0..<b1 {
            let r0 = b * rowsPerBlock, r1 = min(rowsTotal, r0 + rowsPerBlock)
            winogradInputTransform(s, input: input, r0: r0, r1: r1, ws: ws)
            winogradBlockGEMM(s, packedWeights: packedWeights, tiles: (r1 - r0) * s.TW, ws: ws)
            winogradOutputTransform(s, output: out.p, r0: r0, r1: r1, ws: ws)
        }
    }
}

/// Forward pass of an eligible convolution (`winogradApplies(g)`) on `tile`×`tile` output tiles
/// (2 or 4), same contract as `conv2dForward`.
func conv2dForwardWinograd(_ g: Conv2dGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           output: UnsafeMutablePointer<Float>, tile: Int = 2) {
    let s = WinogradShape(N: g.batch, C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels,
                          ph: g.paddingHeight, pw: g.paddingWidth, tile: tile)
    runWinograd(s, weight: weight, filterOut: g.outChannels, filterIn: g.inChannels, adjoint: false,
                input: input, output: output)
}

/// Backward-input pass of an eligible convolution on `tile`×`tile` tiles of dx, same contract as
/// `conv2dBackwardInput`: dx = conv(dy, rotated filters with in/out swapped) with padding 2 − p.
func conv2dBackwardInputWinograd(_ g: Conv2dGeometry, gradOutput: UnsafePointer<Float>,
                                 weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>, tile: Int = 2) {
    let s = WinogradShape(N: g.batch, C: g.outChannels, H: g.outHeight, W: g.outWidth, O: g.inChannels,
                          ph: 2 - g.paddingHeight, pw: 2 - g.paddingWidth, tile: tile)
    runWinograd(s, weight: weight, filterOut: g.outChannels, filterIn: g.inChannels, adjoint: true,
                input: gradOutput, output: gradInput)
}

/// Packs the weights ([filterOut, filterIn, 3, 3]) and runs the convolution of shape `s`, with
/// the settings of the calling task (read here, on the thread that entered the kernel): by blocks
/// of tiles, or by blocks of filters where those outweigh the input
/// (`winogradSchedulesByFilterBlocks`, Conv2dWinogradFilterBlocks.swift).
func runWinograd(_ s: WinogradShape, weight: UnsafePointer<Float>, filterOut: Int, filterIn: Int, adjoint: Bool,
                 input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
    let settings = KernelSettings.current
    let threads = settings.threads(forFlops: s.gemmFlops)
    if winogradSchedulesByFilterBlocks(s, threads: threads, settings: settings) {
        winogradConvolutionByFilterBlocks(s, weight: weight, filterOut: filterOut, filterIn: filterIn, adjoint: adjoint,
                                          input: input, output: output, threads: threads, settings: settings)
        return
    }
    let packed = ScratchBuffer(s.planes * winogradPackedWeightPlane(rows: s.O, depth: s.C))
    defer { packed.free() }
    winogradPackWeights(weight, O: filterOut, C: filterIn, adjoint: adjoint, tile: s.tile, into: packed.p,
                        threads: threads, settings: settings)
    winogradConvolution(s, input: input, packedWeights: packed.p, output: output, threads: threads,
                        settings: settings)
}
