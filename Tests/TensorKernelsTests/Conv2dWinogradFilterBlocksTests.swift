import Testing
@testable import TensorKernels

// The filter-blocked schedule of the Winograd forward and backward-input passes
// (Conv2dWinogradFilterBlocks.swift): the same values as the tile-blocked schedule, bit for bit,
// and as the double-precision reference, on shapes with a partial last filter panel, a partial
// last tile panel, narrow and wide tile rows, both tile sizes, one and two workers; and the rule
// that selects it.

private func geometry(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ o: Int, _ p: Int) -> Conv2dGeometry {
    Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w, outChannels: o, kernelHeight: 3,
                   kernelWidth: 3, paddingHeight: p, paddingWidth: p)
}

@Suite struct Conv2dWinogradFilterBlocksTests {
    /// (geometry, tile): 30 filters (two and a half panels) on 18 tiles; padding 0 on 7×11 outputs
    /// (6-tile rows, gathered two per chunk); a 4×4 stage of 40 tiles (two tile panels, the second
    /// partial) with 36 filters; F(4×4) on 8×8 maps; 20-tile rows (16-lane chunks and 4-lane tails).
    static let shapes: [(Conv2dGeometry, Int)] = [
        (geometry(2, 20, 6, 6, 30, 1), 2),
        (geometry(1, 16, 9, 13, 40, 0), 2),
        (geometry(10, 24, 4, 4, 36, 1), 2),
        (geometry(2, 24, 8, 8, 36, 1), 4),
        (geometry(1, 13, 4, 40, 17, 1), 2),
    ]

    /// Forward (`adjoint` false, x and W) or backward-input (dy and W) of `g` on `tile`-sized tiles,
    /// by filter blocks on `threads` workers, as `conv2dForwardWinograd` / `conv2dBackwardInputWinograd`
    /// set the shape up.
    static func byFilterBlocks(_ g: Conv2dGeometry, tile: Int, adjoint: Bool, input: [Float], weight: [Float],
                               threads: Int) -> [Float] {
        let s = adjoint
            ? WinogradShape(N: g.batch, C: g.outChannels, H: g.outHeight, W: g.outWidth, O: g.inChannels,
                            ph: 2 - g.paddingHeight, pw: 2 - g.paddingWidth, tile: tile)
            : WinogradShape(N: g.batch, C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels,
                            ph: g.paddingHeight, pw: g.paddingWidth, tile: tile)
        var out = [Float](repeating: .nan, count: s.N * s.O * s.OH * s.OW)
        winogradConvolutionByFilterBlocks(s, weight: weight, filterOut: g.outChannels, filterIn: g.inChannels,
                                          adjoint: adjoint, input: input, output: &out, threads: threads,
                                          settings: KernelSettings.current)
        return out
    }

    @Test(arguments: 0..<shapes.count)
    func filterBlocksGiveTheTileBlockedValues(_ index: Int) {
        let (g, tile) = Self.shapes[index]
        var rng = TestRNG(geometrySeed(g))
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let w = rng.array(g.outChannels * g.inChannels * 9)
        let dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth)
        var y = [Float](repeating: .nan, count: dy.count), dx = [Float](repeating: .nan, count: x.count)
        KernelSettings.with({ $0.winogradFilterBlocks = false }) {
            conv2dForwardWinograd(g, input: x, weight: w, output: &y, tile: tile)
            conv2dBackwardInputWinograd(g, gradOutput: dy, weight: w, gradInput: &dx, tile: tile)
        }
        #expect(relativeError(y, referenceConv(g, x, w)) < 1e-5)
        #expect(relativeError(dx, referenceConvBackwardInput(g, dy, w)) < 1e-5)
        for threads in [1, 2] {
            // Compared whole (a Bool), so a failure names the case instead of printing the arrays.
            let forwardSame = Self.byFilterBlocks(g, tile: tile, adjoint: false, input: x, weight: w, threads: threads) == y
            let backwardSame = Self.byFilterBlocks(g, tile: tile, adjoint: true, input: dy, weight: w, threads: threads) == dx
            #expect(forwardSame, "forward \(g), tile \(tile), \(threads) threads")
            #expect(backwardSame, "backward-input \(g), tile \(tile), \(threads) threads")
        }
    }

    @Test(arguments: 0..<shapes.count)
    func weightGradientByFilterBlocksGivesThePositionSplitValues(_ index: Int) {
        let (g, tile) = Self.shapes[index]
        var rng = TestRNG(geometrySeed(g) &+ 1)
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth)
        let s = WinogradShape(N: g.batch, C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels,
                              ph: g.paddingHeight, pw: g.paddingWidth, tile: tile)
        KernelSettings.with({ $0.threads = 2; $0.gemmParallelFlops = 0; $0.tiling = .wide }) {
            var positions = [Float](repeating: .nan, count: g.outChannels * g.inChannels * 9)
            KernelSettings.with({ $0.winogradFilterBlocks = false }) {
                conv2dBackwardWeightWinograd(g, input: x, gradOutput: dy, gradWeight: &positions, tile: tile)
            }
            #expect(relativeError(positions, referenceConvBackwardWeight(g, x, dy)) < 1e-5)
            for threads in [1, 2] {
                var dw = [Float](repeating: .nan, count: positions.count)
                winogradWeightGradByFilterBlocks(s, input: x, gradOutput: dy, gradWeight: &dw, threads: threads,
                                                 settings: KernelSettings.current)
                let same = dw == positions
                #expect(same, "weight gradient \(g), tile \(tile), \(threads) threads")
            }
        }
    }

    @Test func dispatchedPassesTakeFilterBlocksWhereTheRuleSaysSo() {
        // 64 → 128 channels at 4×4, batch 32 (128 tiles of 2×2) through the public entry points:
        // the same values with the schedule on and off (the backward-input pass, 64 filters, keeps
        // the tile blocks).
        let g = geometry(32, 64, 4, 4, 128, 1)
        KernelSettings.with({ $0.threads = 2; $0.gemmParallelFlops = 0; $0.tiling = .wide }) {
            #expect(Conv2dWinograd.schedulesByFilterBlocks(g))
            var rng = TestRNG(geometrySeed(g))
            let x = rng.array(g.batch * 64 * 16), w = rng.array(128 * 64 * 9), dy = rng.array(g.batch * 128 * 16)
            var y = [Float](repeating: .nan, count: dy.count), dx = [Float](repeating: .nan, count: x.count)
            var yTiles = y, dxTiles = dx
            var dw = [Float](repeating: .nan, count: w.count), dwTiles = dw
            #expect(Conv2dWinograd.weightGradSchedulesByFilterBlocks(g))
            conv2dForward(g, input: x, weight: w, output: &y)
            conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dx)
            conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw)
            KernelSettings.with({ $0.winogradFilterBlocks = false }) {
                #expect(!Conv2dWinograd.schedulesByFilterBlocks(g) && !Conv2dWinograd.weightGradSchedulesByFilterBlocks(g))
                conv2dForward(g, input: x, weight: w, output: &yTiles)
                conv2dBackwardInput(g, gradOutput: dy, weight: w, gradInput: &dxTiles)
                conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dwTiles)
            }
            let same = y == yTiles && dx == dxTiles && dw == dwTiles
            #expect(same)
            #expect(relativeError(y, referenceConv(g, x, w)) < 1e-5)
            #expect(relativeError(dw, referenceConvBackwardWeight(g, x, dy)) < 1e-5)
        }
    }

    @Test func ruleTakesLayersWithMoreFiltersThanTiles() {
        KernelSettings.with({ $0.threads = 2; $0.tiling = .wide }) {
            // ResNet-18 at batch 32: the 8×8 (F(4×4), 128 tiles, 256 filters) and 4×4 (F(2×2), 128
            // tiles, 512 filters) stages; not the 32×32 and 16×16 ones (2048 and 512 tiles).
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 256, 8, 8, 256, 1)))
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 512, 4, 4, 512, 1)))
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 128, 16, 16, 128, 1)))
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 64, 32, 32, 64, 1)))
            // Single images of the first two stages (64 tiles of 4×4; 64 tiles of 2×2).
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(1, 64, 32, 32, 64, 1)))
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(1, 128, 16, 16, 128, 1)))
            // Not where Winograd does not run: one image at 8×8 has 16 tiles.
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(1, 256, 8, 8, 256, 1)))
            // Too much transformed input: 512 images at 4×4 (2048 tiles) with 4096 filters.
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(512, 512, 4, 4, 4096, 1)))
        }
        KernelSettings.with({ $0.threads = 1; $0.tiling = .wide }) {
            // One thread: only with at least 2²⁰ floats of transformed filters.
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 512, 4, 4, 512, 1)))
            #expect(Conv2dWinograd.schedulesByFilterBlocks(geometry(32, 256, 8, 8, 256, 1)))
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(1, 128, 16, 16, 128, 1)))
            #expect(!Conv2dWinograd.schedulesByFilterBlocks(geometry(1, 64, 32, 32, 64, 1)))
        }
    }
}
