// The Winograd weight gradient by blocks of filters, for layers with more filters than tiles
// (notation of Conv2dWinogradWeightGrad.swift; the forward passes' counterpart is
// Conv2dWinogradFilterBlocks.swift).
//
// With few tiles the weight gradient splits the positions ξ among its workers
// (`winogradWeightGradMinTilesPerWorker`): each computes whole planes Z_ξ (O × C) into one shared
// Z of planes·O·C floats — 16.8 MB on the ResNets' 4×4 stage at batch 32, 9.4 MB on the 8×8
// stage's F(4×4) — which the final transform reads back: Z makes a round trip through memory,
// 12 % of the 4×4 stage's weight-gradient samples in that final transform alone.
//
// Here, for a batch whose tiles make one block:
//  1. the input and output-gradient tiles are transformed into V and Ŷ, the workers taking
//     disjoint channels (as the position split does);
//  2. every V_ξᵀ is packed as the GEMMs' B panels, the workers taking disjoint positions;
//  3. each worker takes a run of 12-filter panels and, one panel at a time, packs its rows of
//     every Ŷ_ξ, computes its rows of every Z_ξ (12·C floats each) and turns them into its rows of
//     dW at once: Z stays in L2.
// The products and their order of summation are those of the position split.

extension Conv2dWinograd {
    /// Whether the weight gradient of `g`, where it takes Winograd (on 4×4 tiles where
    /// `appliesLargeTilesToWeightGradient(_:)`), runs by filter blocks with the current settings.
    public static func weightGradSchedulesByFilterBlocks(_ g: Conv2dGeometry) -> Bool {
        let large = appliesLargeTilesToWeightGradient(g)
        guard large || appliesToWeightGradient(g) else { return false }
        let s = WinogradShape(N: g.batch, C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels,
                              ph: g.paddingHeight, pw: g.paddingWidth, tile: large ? 4 : 2)
        let settings = KernelSettings.current
        return winogradWeightGradSchedulesByFilterBlocks(s, threads: settings.threads(forFlops: s.gemmFlops),
                                                         settings: settings)
    }
}

/// Whether `conv2dBackwardWeightWinograd` takes the filter-blocked schedule for `s` on `threads`
/// threads: enabled (`KernelSettings.winogradFilterBlocks`), the batch's tiles one block of the
/// position split (at most `winogradWeightGradBlockTiles`, fewer than
/// `winogradWeightGradMinTilesPerWorker` per worker), at least as many filters as tiles, and on
/// one thread at least `winogradFilterBlocksOneThreadMinFilterFloats` of Z.
func winogradWeightGradSchedulesByFilterBlocks(_ s: WinogradShape, threads: Int, settings: KernelSettings) -> Bool {
    let tiles = s.tileRows * s.TW
    return settings.winogradFilterBlocks && s.tileRows <= winogradWeightGradBlockRows(s)
        && tiles < winogradWeightGradMinTilesPerWorker * max(2, threads) && s.O >= tiles
        && (threads > 1 || s.planes * s.O * s.C >= winogradFilterBlocksOneThreadMinFilterFloats)
}

/// The weight gradient of shape `s` by filter blocks, same contract as
/// `conv2dBackwardWeightWinograd` (`gradWeight` [O, C, 3, 3] overwritten; the last of the s.N
/// images from `lastImage` when given; the result times `scale`).
func winogradWeightGradByFilterBlocks(_ s: WinogradShape, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                      lastImage: WeightGradExtraImage? = nil, scale: Float = 1,
                                      gradWeight: UnsafeMutablePointer<Float>, threads: Int, settings: KernelSettings) {
    let tiles = s.tileRows * s.TW, planes = s.planes
    let workers = max(1, min(threads, planes))
    let workspaces = WinogradWeightGradWorkspace.shared(s, maxTiles: tiles, tiling: settings.tiling, workers: workers)
    defer { for ws in workspaces { ws.free() } }
    let owner = workspaces[0]

    // 1. V and Ŷ of every tile, the channels shared.
    winogradWeightGradSharedTransforms(s, input: input, gradOutput: gradOutput, lastImage: lastImage, r0: 0,
                                       r1: s.tileRows, workspaces: workspaces)

    // 2. V_ξᵀ as B panels ([c / 32][t][32]) for every ξ, the positions shared.
    let bPlane = (s.C + gemmNR - 1) / gemmNR * gemmNR * tiles
    let packedB = ScratchBuffer(planes * bPlane)
    defer { packedB.free() }
    let b = SendablePointer(packedB.p), dW = SendablePointer(gradWeight)
    parallelChunks(workers) { t in
        for xi in workerShare(t, of: planes, workers: workers) {
            packB(transpose: true, b: owner.v.p + xi * owner.vStride, ldb: owner.ldt, p0: 0, kc: tiles, j0: 0, nc: s.C,
                  into: b.p + xi * bPlane)
        }
    }

    // 3. Panels of 12 filters: their rows of every Z_ξ, then of dW.
    let panels = packedRows(s.O) / gemmMR
    let panelWorkers = min(threads, panels)
    let zPlane = winogradPlaneStride(gemmMR * s.C)
    parallelChunks(panelWorkers) { t in
        let a = ScratchBuffer(gemmMR * tiles), z = ScratchBuffer(planes * zPlane)
        defer { a.free(); z.free() }
        for q in workerShare(t, of: panels, workers: panelWorkers) {
            let o0 = q * gemmMR, rows = min(gemmMR, s.O - o0)
            for xi in 0..<planes {
                prepackABlock(owner.dy.p + xi * owner.dyStride + o0 * owner.ldt, lda: owner.ldt, m: rows, k: tiles,
                              kcBlock: tiles, block: 0, into: a.p)
                var jr = 0
                while jr < s.C {
                    runMicroKernel(kc: tiles, a: a.p, b: b.p + xi * bPlane + (jr / gemmNR) * tiles * gemmNR,
                                   c: z.p + xi * zPlane + jr, ldc: s.C, beta: 0, mr: rows, nr: min(gemmNR, s.C - jr),
                                   tiling: settings.tiling)
                    jr += gemmNR
                }
            }
            winogradWeightGradFinish(pairs: 0..<(rows * s.C), sums: z.p, copies: 1, plane: zPlane, tile: s.tile,
                                     scale: scale, gradWeight: dW.p + o0 * s.C * 9)
        }
    }
}
