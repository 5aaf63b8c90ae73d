// Winograd convolution scheduled by blocks of filters, for layers whose transformed filters
// outweigh their transformed input (notation of Conv2dWinograd.swift).
//
// The tile-blocked schedule (`winogradConvolution`) transforms and packs every filter first
// (`winogradPackWeights`) and then runs blocks of tiles against all of them. Where U is large and
// the tiles few — the ResNets' 4×4 stage at batch 32 (F(2×2): 16.8 MB of U against 4 MB of V) and
// 8×8 stage (F(4×4): 9.4 MB against 4.7 MB) — that packing pass writes U out to memory and every
// worker reads it back, and it is bound by memory traffic, not arithmetic: 18 % of the 4×4 stage's
// forward samples, at about the machine's memory bandwidth (issue 17's twelfth session).
//
// Here the roles turn round:
//  1. the input of all tiles is transformed once into one shared V (packed B layout, every
//     position ξ), the workers taking disjoint channels;
//  2. each worker takes a run of packed filter panels (12 rows of the GEMMs each) and, a block of
//     `winogradFilterBlockPanels` at a time, transforms and packs those filters, runs the block's
//     GEMMs against V over all tiles, and transforms the block's output channels. The block's U
//     and M stay in L2; V is read from the caches once per block.
// The products and their order of summation are those of the tile-blocked schedule.

/// Packed filter panels (12 rows each) transformed, multiplied and written back per block: one.
/// The block's U (F(2×2), 512 channels: 393 KB; F(4×4), 256 channels: 442 KB) and M then stay in
/// L2 while V is read from L3 once per panel. Blocks of 1, 2, 3, 4 and 8 panels against the
/// tile-blocked schedule (`lcnn bench kernels`' `_tile_blocks` twins, batch 32, two threads; four
/// runs of 1, 2 and 8, two of 3 and 4; issue 17's twelfth session), forward / backward-input:
/// 256 channels at 8×8 0.79–0.87 / 0.80–0.88 (1), 0.82–0.88 / 0.86–0.88 (2), 0.91 / 0.91–0.92 (3),
/// 0.91–0.93 / 0.90–0.94 (4), 0.99–1.01 / 0.98–1.01 (8); 512 at 4×4 0.77–0.90 / 0.79–0.88 (1),
/// 0.83–0.93 / 0.85–0.89 (2), 0.89–0.91 / 0.88–0.90 (3), 0.89–0.91 / 0.88–0.89 (4), 0.92–0.96 /
/// 0.92–0.95 (8).
let winogradFilterBlockPanels = 1

/// Most floats of transformed input (planes·C·tiles, 8 MB) for the filter-blocked schedule: V is
/// read once per filter block and must stay in the last-level cache.
let winogradFilterBlocksMaxInputFloats = 1 << 21

/// Fewest floats of transformed filters (planes·O·C, 4 MB) for the filter-blocked schedule on
/// one thread. With two, each worker of the tile-blocked schedule reads all of U for half the
/// tiles, and single images gain as well (64 channels at 32×32, F(4×4): 0.78–0.92; 128 at 16×16,
/// F(2×2): 0.72–0.98); on one thread (`BENCH_THREADS=1`), as the power iterations ahead run them,
/// those two were even (0.98–1.00) and slower (1.07–1.12), the batch-32 stages still faster
/// (0.82–0.92).
let winogradFilterBlocksOneThreadMinFilterFloats = 1 << 20

extension Conv2dWinograd {
    /// Whether the forward pass of `g`, where it takes Winograd (on 4×4 tiles where
    /// `appliesLargeTiles(to:)`), runs by filter blocks with the current settings
    /// (`KernelSettings.winogradFilterBlocks`); the backward-input pass of a layer with as many
    /// input as output channels decides the same.
    public static func schedulesByFilterBlocks(_ g: Conv2dGeometry) -> Bool {
        guard applies(to: g) || appliesLargeTiles(to: g) else { return false }
        let tile = appliesLargeTiles(to: g) ? 4 : 2
        let s = WinogradShape(N: g.batch, C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels,
                              ph: g.paddingHeight, pw: g.paddingWidth, tile: tile)
        let settings = KernelSettings.current
        return winogradSchedulesByFilterBlocks(s, threads: settings.threads(forFlops: s.gemmFlops), settings: settings)
    }
}

/// Whether `runWinograd` takes the filter-blocked schedule for `s` on `threads` threads: enabled,
/// at least as many filters (GEMM rows) as tiles, at most `winogradFilterBlocksMaxInputFloats` of
/// transformed input, and on one thread at least `winogradFilterBlocksOneThreadMinFilterFloats`
/// of transformed filters. Measured in issue 17's twelfth session; with all shapes sent here,
/// the batch-32 stages with more tiles than filters were 1.08–1.20 (128 channels at 16×16) and
/// 1.26–1.76 (64 at 32×32) times slower. Measured on the wide (AVX-512) tiling only; the AVX2
/// tiling takes the same rule, whose reason (U's and Z's round trips through memory) does not
/// depend on the register tile.
func winogradSchedulesByFilterBlocks(_ s: WinogradShape, threads: Int, settings: KernelSettings) -> Bool {
    let tiles = s.tileRows * s.TW
    return settings.winogradFilterBlocks && s.O >= tiles && s.planes * s.C * tiles <= winogradFilterBlocksMaxInputFloats
        && (threads > 1 || s.planes * s.O * s.C >= winogradFilterBlocksOneThreadMinFilterFloats)
}

/// The Winograd convolution of shape `s` by filter blocks, same contract as `runWinograd`
/// (`weight` [filterOut, filterIn, 3, 3], `adjoint` for the backward-input pass).
func winogradConvolutionByFilterBlocks(_ s: WinogradShape, weight: UnsafePointer<Float>, filterOut: Int,
                                       filterIn: Int, adjoint: Bool, input: UnsafePointer<Float>,
                                       output: UnsafeMutablePointer<Float>, threads: Int, settings: KernelSettings) {
    let tiles = s.tileRows * s.TW
    let tilePanels = (tiles + gemmNR - 1) / gemmNR
    let ldm = tilePanels * gemmNR
    let vStride = winogradPlaneStride(tilePanels * s.C * gemmNR)
    let v = ScratchBuffer(s.planes * vStride)
    defer { v.free() }
    if tiles < ldm {
        // Lanes past the last tile are multiplied but never read; keep them finite.
        let lastPanel = (tilePanels - 1) * s.C * gemmNR
        for xi in 0..<s.planes { (v.p + xi * vStride + lastPanel).update(repeating: 0, count: s.C * gemmNR) }
    }
    let shared = SendablePointer(v.p), out = SendablePointer(output)

    // 1. V of every tile, the channels shared among the workers.
    let rowWidth = winogradPatchRowWidth(s)
    let transformers = min(threads, s.C)
    parallelChunks(transformers) { t in
        let rows = ScratchBuffer(s.patch * rowWidth)
        defer { rows.free() }
        rows.p.update(repeating: 0, count: s.patch * rowWidth)
        forEachTransformedInputChunk(s, input: input, r0: 0, r1: s.tileRows, rows: rows.p, rowWidth: rowWidth,
                                     only: workerShare(t, of: s.C, workers: transformers)) { c, l0, count, transformed in
            storeTileLanes(transformed, planes: s.planes, into: shared.p, planeStride: vStride, channels: s.C,
                           channel: c, l0: l0, count: count)
        }
    }

    // 2. Blocks of filters: pack, multiply over all tiles, transform the block's outputs.
    let panels = packedRows(s.O) / gemmMR
    let blockPanels = min(winogradFilterBlockPanels, panels)
    let workers = min(threads, panels)
    let planeStride = winogradPackedWeightPlane(rows: blockPanels * gemmMR, depth: s.C)
    let mStride = winogradPlaneStride(blockPanels * gemmMR * ldm)
    parallelChunks(workers) { t in
        let packed = ScratchBuffer(s.planes * planeStride), m = ScratchBuffer(s.planes * mStride)
        defer { packed.free(); m.free() }
        let mine = workerShare(t, of: panels, workers: workers)
        var q0 = mine.lowerBound
        while q0 < mine.upperBound {
            let q1 = min(mine.upperBound, q0 + blockPanels)
            let o0 = q0 * gemmMR, o1 = min(s.O, q1 * gemmMR)
            winogradPackWeightItems(weight, O: filterOut, C: filterIn, adjoint: adjoint, tile: s.tile,
                                    items: (q0 * s.C)..<(q1 * s.C), firstPanel: q0, into: packed.p,
                                    planeStride: planeStride)
            winogradGEMMs(s, packedWeights: packed.p, planeStride: planeStride, rows: o1 - o0, tiles: tiles,
                          v: shared.p, vStride: vStride, m: m.p, mStride: mStride, ldm: ldm, kc: settings.gemmKC,
                          mc: settings.gemmMC, tiling: settings.tiling)
            winogradOutputTransform(s, output: out.p, r0: 0, r1: s.tileRows, channels: o0..<o1, m: m.p,
                                    mStride: mStride, ldm: ldm)
            q0 = q1
        }
    }
}
