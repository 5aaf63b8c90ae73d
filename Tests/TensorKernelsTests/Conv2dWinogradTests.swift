import Testing
@testable import TensorKernels

// The Winograd F(2×2, 3×3) and F(4×4, 3×3) paths of 3×3 stride-1 convolutions (forward,
// backward-input and backward-weight), checked element-wise against the
// double-precision reference loops (Conv2dTests.swift, Conv2dImplicitTests.swift): through the
// public entry points on shapes that select it, and through the internal driver on shapes the
// dispatcher never gives it (odd tile widths, tiny channel counts, many blocks), so that every
// store path of the transforms is exercised.

private func geometry(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ o: Int, _ p: Int) -> Conv2dGeometry {
    Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w, outChannels: o, kernelHeight: 3,
                   kernelWidth: 3, paddingHeight: p, paddingWidth: p)
}

fileprivate struct Operands {
    let x: [Float], w: [Float], dy: [Float]

    init(_ g: Conv2dGeometry) {
        var rng = TestRNG(geometrySeed(g))
        x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        w = rng.array(g.outChannels * g.inChannels * 9)
        dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth)
    }
}

@Suite struct Conv2dWinogradTests {
    /// Shapes the dispatcher sends to Winograd (≥ 512 output tiles): a 32×32 stage, 2×2 tiles per
    /// image with an output-channel tail (O % 12 ≠ 0), odd heights on a rectangular image.
    static let eligible: [Conv2dGeometry] = [
        geometry(2, 64, 32, 32, 64, 1),
        geometry(128, 64, 4, 4, 72, 1),
        geometry(9, 64, 15, 16, 64, 1),
    ]

    /// Shapes only reachable through the internal driver: odd and non-power-of-two tile widths
    /// (chunks crossing packed panels), few channels, several blocks per worker.
    static let internalOnly: [Conv2dGeometry] = [
        geometry(3, 5, 9, 13, 7, 1),           // TW 7: scalar lane stores across panels
        geometry(2, 3, 11, 26, 4, 0),          // TW 12, padding 0
        geometry(2, 2, 5, 5, 3, 2),            // padding 2, tiny
        geometry(1, 1, 3, 3, 1, 1),            // one tile row of two tiles, one channel
        geometry(4, 2, 64, 64, 3, 1),          // 4096 tiles: several blocks on each worker
        geometry(2, 13, 12, 40, 17, 1),        // TW 20: 16-lane chunks plus 4-lane tails
        geometry(2, 20, 10, 10, 24, 0),        // padding 0 (backward padding 2)
        geometry(2, 20, 6, 6, 16, 2),          // padding 2 (backward padding 0)
    ]

    /// One of the three convolution passes: (geometry, first operand, second operand, result).
    typealias Pass = (Conv2dGeometry, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void

    /// Runs forward (x, w), backward-input (dy, w) and backward-weight (x, dy) of `g` and checks
    /// each against the double-precision reference and the adjoint relations
    /// ⟨conv(x), dy⟩ = ⟨x, dx⟩ = ⟨w, dW⟩.
    static func checkPasses(_ g: Conv2dGeometry, forward: Pass, backwardInput: Pass, backwardWeight: Pass) {
        let ops = Operands(g)
        var y = [Float](repeating: .nan, count: ops.dy.count)
        var dx = [Float](repeating: .nan, count: ops.x.count)
        var dw = [Float](repeating: .nan, count: ops.w.count)
        forward(g, ops.x, ops.w, &y)
        backwardInput(g, ops.dy, ops.w, &dx)
        backwardWeight(g, ops.x, ops.dy, &dw)
        let yRef = referenceConv(g, ops.x, ops.w)
        #expect(relativeError(y, yRef) < 1e-5, "forward \(g)")
        #expect(relativeError(dx, referenceConvBackwardInput(g, ops.dy, ops.w)) < 1e-5, "backward-input \(g)")
        #expect(relativeError(dw, referenceConvBackwardWeight(g, ops.x, ops.dy)) < 1e-5, "backward-weight \(g)")
        // Rounding errors scale with Σ|terms|, not with the (cancelling) sum itself.
        var lhs = 0.0, scale = 0.0
        for i in 0..<y.count { lhs += yRef[i] * Double(ops.dy[i]); scale += abs(yRef[i] * Double(ops.dy[i])) }
        #expect(abs(lhs - dot(ops.x, dx)) / max(1, scale) < 1e-4)
        #expect(abs(lhs - dot(ops.w, dw)) / max(1, scale) < 1e-4)
    }

    @Test(arguments: eligible, [true, false])
    func dispatchedShapesMatchReference(_ g: Conv2dGeometry, largeTiles: Bool) {
        KernelSettings.with({ $0.winogradLargeTiles = largeTiles }) {
            #expect(Conv2dWinograd.applies(to: g) && Conv2dWinograd.appliesToWeightGradient(g))
            Self.checkPasses(g, forward: conv2dForward(_:input:weight:output:),
                             backwardInput: conv2dBackwardInput(_:gradOutput:weight:gradInput:),
                             backwardWeight: { conv2dBackwardWeight($0, input: $1, gradOutput: $2, gradWeight: $3) })
        }
    }

    @Test func largeTilesRunWhereDispatched() {
        // The first eligible shape (two images of 32×32: 128 tiles of 4×4) takes F(4×4, 3×3) in
        // all three passes unless switched off; one image (64 tiles) too, on either tiling; the
        // 4×4 stage at batch 32 (32 tiles of 4×4) stays on F(2×2).
        for tiling in GEMMTiling.allCases {
            KernelSettings.with({ $0.tiling = tiling }) {
                let g = Self.eligible[0]
                #expect(Conv2dWinograd.appliesLargeTiles(to: g) && Conv2dWinograd.appliesLargeTilesToWeightGradient(g))
                #expect(Conv2dDispatch.forwardAlgorithm(for: g) == .winogradLargeTiles)
                #expect(Conv2dDispatch.backwardInputAlgorithm(for: g) == .winogradLargeTiles)
                #expect(Conv2dDispatch.weightGradAlgorithm(for: g) == .winogradLargeTiles)
                #expect(Conv2dWinograd.appliesLargeTiles(to: geometry(1, 64, 32, 32, 64, 1)))
                #expect(Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry(1, 64, 32, 32, 64, 1)))
                #expect(!Conv2dWinograd.appliesLargeTiles(to: geometry(32, 512, 4, 4, 512, 1)))
                #expect(!Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry(32, 512, 4, 4, 512, 1)))
                #expect(Conv2dDispatch.forwardAlgorithm(for: geometry(32, 512, 4, 4, 512, 1)) == .winograd)
                KernelSettings.with({ $0.winogradLargeTiles = false }) {
                    #expect(!Conv2dWinograd.appliesLargeTiles(to: g) && !Conv2dWinograd.appliesLargeTilesToWeightGradient(g))
                    #expect(Conv2dDispatch.forwardAlgorithm(for: g) == .winograd)
                    #expect(Conv2dDispatch.weightGradAlgorithm(for: g) == .winograd)
                }
            }
        }
    }

    @Test(arguments: internalOnly, [2, 4])
    func driverMatchesReferenceOnAnyShape(_ g: Conv2dGeometry, tile: Int) {
        Self.checkPasses(g, forward: { conv2dForwardWinograd($0, input: $1, weight: $2, output: $3, tile: tile) },
                         backwardInput: { conv2dBackwardInputWinograd($0, gradOutput: $1, weight: $2, gradInput: $3, tile: tile) },
                         backwardWeight: { conv2dBackwardWeightWinograd($0, input: $1, gradOutput: $2, gradWeight: $3, tile: tile) })
    }

    @Test(arguments: GEMMTiling.allCases)
    func largeTilesUnderEitherTiling(_ tiling: GEMMTiling) {
        // The transforms are the same code under both micro-kernel tilings, the GEMMs are not:
        // F(4×4) through the driver with the tiling set explicitly (this machine's own tiling
        // also runs every shape in `driverMatchesReferenceOnAnyShape`).
        KernelSettings.with({ $0.tiling = tiling }) {
            for g in [Self.eligible[0], Self.internalOnly[0], Self.internalOnly[5]] {
                Self.checkPasses(g, forward: { conv2dForwardWinograd($0, input: $1, weight: $2, output: $3, tile: 4) },
                                 backwardInput: { conv2dBackwardInputWinograd($0, gradOutput: $1, weight: $2, gradInput: $3, tile: 4) },
                                 backwardWeight: { conv2dBackwardWeightWinograd($0, input: $1, gradOutput: $2, gradWeight: $3, tile: 4) })
            }
        }
    }

    @Test(arguments: [64, 136])
    func largeTilesStayAccurateWithManyChannels(_ channels: Int) {
        // The F(4×4) rounding grows with the channels summed per GEMM: 2 images of 12×12
        // (padding 1: 3×3 tiles each, a 12-wide last row) against the same 1e-5 as F(2×2).
        let g = geometry(2, channels, 12, 12, 16, 1)
        Self.checkPasses(g, forward: { conv2dForwardWinograd($0, input: $1, weight: $2, output: $3, tile: 4) },
                         backwardInput: { conv2dBackwardInputWinograd($0, gradOutput: $1, weight: $2, gradInput: $3, tile: 4) },
                         backwardWeight: { conv2dBackwardWeightWinograd($0, input: $1, gradOutput: $2, gradWeight: $3, tile: 4) })
    }

    @Test(arguments: GEMMTiling.allCases)
    func weightGradientUnderEitherTiling(_ tiling: GEMMTiling) {
        // The narrow tiles read Ŷ_ξ's rows in place up to 128 input channels (row strides, O tails
        // of 1–5 rows) and pack them above; the wide tiling always packs. Both tilings, whichever
        // this machine would choose, against the reference; the last shape is past the bound.
        let wide = geometry(2, 136, 6, 6, 20, 1)
        let s = WinogradShape(N: 2, C: 136, H: 6, W: 6, O: 20, ph: 1, pw: 1)
        #expect(!winogradWeightGradReadsOutputInPlace(s, tiling: tiling))
        #expect(winogradWeightGradReadsOutputInPlace(WinogradShape(N: 2, C: 128, H: 6, W: 6, O: 20, ph: 1, pw: 1),
                                                     tiling: tiling) == (tiling == .narrow))
        KernelSettings.with({ $0.tiling = tiling }) {
            for g in Self.internalOnly + Self.eligible + [wide] {
                let ops = Operands(g)
                var dw = [Float](repeating: .nan, count: ops.w.count)
                conv2dBackwardWeightWinograd(g, input: ops.x, gradOutput: ops.dy, gradWeight: &dw)
                #expect(relativeError(dw, referenceConvBackwardWeight(g, ops.x, ops.dy)) < 1e-5, "\(tiling) \(g)")
            }
        }
    }

    /// `pass` run with one worker and with two, on a shape both Winograd paths take.
    fileprivate static func onOneAndTwoWorkers(_ count: (Operands) -> Int,
                                   _ pass: (Conv2dGeometry, Operands, inout [Float]) -> Void)
        -> (g: Conv2dGeometry, ops: Operands, one: [Float], two: [Float]) {
        let g = geometry(8, 64, 16, 16, 64, 1)
        #expect(Conv2dWinograd.applies(to: g) && Conv2dWinograd.appliesToWeightGradient(g))
        let ops = Operands(g)
        var one = [Float](repeating: .nan, count: count(ops)), two = one
        KernelSettings.with({ $0.threads = 1 }) { pass(g, ops, &one) }
        KernelSettings.with({ $0.threads = 2 }) { pass(g, ops, &two) }
        return (g, ops, one, two)
    }

    @Test(arguments: [true, false])
    func forwardDoesNotDependOnTheWorkerSplit(largeTiles: Bool) {
        // Blocks move between workers with the thread count; each tile's sums stay the same.
        let r = KernelSettings.with({ $0.winogradLargeTiles = largeTiles }) {
            Self.onOneAndTwoWorkers({ $0.dy.count }) { g, ops, y in
                #expect(Conv2dWinograd.appliesLargeTiles(to: g) == largeTiles)
                conv2dForward(g, input: ops.x, weight: ops.w, output: &y)
            }
        }
        #expect(r.one == r.two)
    }

    @Test func weightGradientSumsEveryWorkersTiles() {
        // With two workers each holds a partial Z; one worker sees every block. Same sums up to
        // rounding, and both match the reference.
        let r = Self.onOneAndTwoWorkers({ $0.w.count }) { g, ops, dw in
            conv2dBackwardWeight(g, input: ops.x, gradOutput: ops.dy, gradWeight: &dw)
        }
        let reference = referenceConvBackwardWeight(r.g, r.ops.x, r.ops.dy)
        #expect(relativeError(r.one, reference) < 1e-5)
        #expect(relativeError(r.two, reference) < 1e-5)
    }

    /// (images, channels in, channels out, map side, tile side): F(2×2) with one block of 256
    /// tiles and with two blocks (448 tiles: 224 per worker, and blocks of at most 256), F(4×4)
    /// on 8×8 maps (the ResNet-18 third stage's case, 4 tiles an image).
    static let positionSplits: [(Int, Int, Int, Int, Int)] = [(4, 64, 72, 16, 2), (7, 64, 72, 16, 2), (16, 32, 40, 8, 4)]

    @Test(arguments: positionSplits)
    func weightGradientSplitsPositionsWhenTilesAreFew(_ shape: (Int, Int, Int, Int, Int)) {
        // Fewer than 256 tiles per worker with two: the workers transform disjoint channels of
        // each block into shared operands, then each takes a share of the positions ξ over every
        // tile instead of a share of the tiles.
        let (n, c, o, side, tile) = shape
        let g = geometry(n, c, side, side, o, 1)
        let s = WinogradShape(N: n, C: c, H: side, W: side, O: o, ph: 1, pw: 1, tile: tile)
        #expect(s.tileRows * s.TW < winogradWeightGradMinTilesPerWorker * 2)
        #expect(s.gemmFlops >= Double(KernelSettings.current.gemmParallelFlops), "two workers must take part")
        let ops = Operands(g)
        let reference = referenceConvBackwardWeight(g, ops.x, ops.dy)
        // Split runs first: outside debug builds (which poison it with NaNs) the scratch pool may
        // hand a later run the previous run's complete Z.
        for threads in [2, 3, 1] {
            var dw = [Float](repeating: .nan, count: ops.w.count)
            KernelSettings.with({ $0.threads = threads }) {
                conv2dBackwardWeightWinograd(g, input: ops.x, gradOutput: ops.dy, gradWeight: &dw, tile: tile)
            }
            #expect(relativeError(dw, reference) < 1e-5, "\(threads) threads")
        }
    }

    @Test func planeStridesAreOddLineCounts() {
        // At least the plane's floats, whole 64-byte lines, an odd number of them: the same offset
        // in the 16 planes of F(2×2) or the 36 of F(4×4) then lands in as many different L1 sets
        // (a 4 KB multiple would put all in one).
        for count in [1, 15, 16, 17, 768, 1024, 4096, 6144, 262_144, 266_240] {
            let stride = winogradPlaneStride(count)
            #expect(stride >= count && stride % 16 == 0 && (stride / 16) % 2 == 1, "\(count) → \(stride)")
            #expect(stride - count < 32, "\(count) → \(stride) wastes a line")
            for planes in [16, 36] {
                let sets = Set((0..<planes).map { (($0 * stride * 4) / 64) % 64 })
                #expect(sets.count == planes, "\(count): \(planes) planes share L1 sets")
            }
        }
    }

    @Test func filterTransformIsGgGt() {
        // U = G g Gᵀ for the all-ones filter: G·1 = (1, 1.5, 0.5, 1), so U = u uᵀ.
        let ones = [Float](repeating: 1, count: 9)
        let u = [Float](arrayLiteral: 1, 1.5, 0.5, 1)
        let rows = 1, depth = 1
        let plane = winogradPackedWeightPlane(rows: rows, depth: depth)
        #expect(plane >= gemmMR * depth)
        var packed = [Float](repeating: .nan, count: 16 * plane)
        packed.withUnsafeMutableBufferPointer { p in
            winogradPackWeights(ones, O: rows, C: depth, adjoint: false, into: p.baseAddress!, threads: 1, settings: .current)
        }
        for a in 0..<4 {
            for b in 0..<4 { #expect(packed[(4 * a + b) * plane] == u[a] * u[b]) }
        }
        // Padding rows of the panel are zero, not garbage.
        #expect(packed[1] == 0 && packed[11] == 0)
    }

    @Test func largeTileFilterTransformIsGgGt() {
        // F(4×4)'s G (rows halved) on the all-ones filter: (½, ½, −⅙, −14/15, 1/10, ½); U = u uᵀ.
        let ones = [Float](repeating: 1, count: 9)
        let u: [Float] = [0.5, 0.5, -1.0 / 6, -14.0 / 15, 0.1, 0.5]
        let plane = winogradPackedWeightPlane(rows: 1, depth: 1)
        var packed = [Float](repeating: .nan, count: 36 * plane)
        packed.withUnsafeMutableBufferPointer { p in
            winogradPackWeights(ones, O: 1, C: 1, adjoint: false, tile: 4, into: p.baseAddress!, threads: 1,
                                settings: .current)
        }
        for a in 0..<6 {
            for b in 0..<6 { #expect(abs(packed[(6 * a + b) * plane] - u[a] * u[b]) <= 1e-6, "ξ = \(6 * a + b)") }
        }
        #expect(packed[1] == 0 && packed[11] == 0)
    }

    @Test func dispatchRules() {
        for tiling in GEMMTiling.allCases {
            KernelSettings.with({ $0.tiling = tiling }) {
                #expect(Conv2dWinograd.applies(to: geometry(32, 64, 32, 32, 64, 1)))
                #expect(Conv2dWinograd.appliesToWeightGradient(geometry(32, 128, 16, 16, 128, 1)))
                #expect(Conv2dWinograd.applies(to: geometry(32, 256, 8, 8, 256, 1)))
                #expect(Conv2dWinograd.applies(to: geometry(256, 512, 4, 4, 512, 1)))
                // Stride 2, other kernels, few channels, padding 3, unaligned tile widths: direct GEMM.
                var strided = geometry(32, 64, 32, 32, 128, 1)
                strided.strideHeight = 2
                strided.strideWidth = 2
                #expect(!Conv2dWinograd.applies(to: strided))
                var fiveByFive = geometry(2, 64, 8, 8, 64, 2)
                fiveByFive.kernelHeight = 5
                fiveByFive.kernelWidth = 5
                #expect(!Conv2dWinograd.applies(to: fiveByFive))
                #expect(!Conv2dWinograd.applies(to: geometry(2, 32, 26, 26, 64, 0)))
                #expect(!Conv2dWinograd.applies(to: geometry(2, 64, 8, 8, 64, 3)))
                #expect(!Conv2dWinograd.applies(to: geometry(2, 64, 24, 24, 64, 1)))
                // Too few tiles under either tiling: single images from 8×8 down.
                #expect(!Conv2dWinograd.applies(to: geometry(1, 256, 8, 8, 256, 1)))
                #expect(!Conv2dWinograd.applies(to: geometry(1, 512, 4, 4, 512, 1)))
                #expect(Conv2dWinograd.applies(to: geometry(2, 64, 32, 32, 64, 1)))
            }
        }
    }

    @Test func largeTilesTakeThirtyTwoChannelsAndAnyRowWidth() {
        for tiling in GEMMTiling.allCases {
            KernelSettings.with({ $0.tiling = tiling }) {
                // The SmallCNN's second convolution (32 → 64, 26 → 24 pixels: 7 and 6 tiles a row)
                // and a 64-channel layer on 28×28 maps: F(2×2) declines both, F(4×4) takes them.
                for g in [geometry(128, 32, 26, 26, 64, 0), geometry(32, 64, 28, 28, 64, 1)] {
                    #expect(!Conv2dWinograd.applies(to: g) && Conv2dWinograd.appliesLargeTiles(to: g), "\(g)")
                    #expect(Conv2dWinograd.appliesLargeTilesToWeightGradient(g), "\(g)")
                    #expect(Conv2dDispatch.forwardAlgorithm(for: g) == .winogradLargeTiles)
                    #expect(Conv2dDispatch.backwardInputAlgorithm(for: g) == .winogradLargeTiles)
                    #expect(Conv2dDispatch.weightGradAlgorithm(for: g) == .winogradLargeTiles)
                    KernelSettings.with({ $0.winogradLargeTiles = false }) {
                        #expect(Conv2dDispatch.forwardAlgorithm(for: g) != .winogradLargeTiles)
                    }
                    KernelSettings.with({ $0.winograd = false }) {
                        #expect(!Conv2dWinograd.appliesLargeTiles(to: g) && !Conv2dWinograd.appliesLargeTilesToWeightGradient(g))
                    }
                }
                // Below 32 channels in or out, or under 64 tiles of 4×4 (one 26×26 image: 36).
                #expect(!Conv2dWinograd.appliesLargeTiles(to: geometry(128, 16, 26, 26, 64, 0)))
                #expect(!Conv2dWinograd.appliesLargeTiles(to: geometry(128, 32, 26, 26, 16, 0)))
                #expect(!Conv2dWinograd.appliesLargeTiles(to: geometry(1, 32, 26, 26, 64, 0)))
                #expect(!Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry(1, 32, 26, 26, 64, 0)))
                // The weight gradient keeps F(2×2)'s bound on 2×2 tiles: 64 images of 2×2 (64 tiles
                // of either size) stay on the direct path there.
                #expect(Conv2dWinograd.appliesLargeTiles(to: geometry(64, 64, 2, 2, 64, 1)))
                #expect(Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry(64, 64, 2, 2, 64, 1)) == (tiling == .narrow))
            }
        }
    }

    @Test func wideTilingBounds() {
        KernelSettings.with({ $0.tiling = .wide }) {
            // No channel bound on the weight gradient, none on filter pairs per tile: 256 channels
            // at 8×8, the 4×4 stage at batch 32 (128 tiles, 2048 pairs each).
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(32, 256, 8, 8, 256, 1)))
            #expect(Conv2dWinograd.applies(to: geometry(32, 512, 4, 4, 512, 1)))
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(32, 512, 4, 4, 512, 1)))
            // At least 64 tiles for every pass: 16 images at 4×4 yes, 15 no; single images at 32×32.
            #expect(Conv2dWinograd.applies(to: geometry(16, 512, 4, 4, 512, 1)))
            #expect(!Conv2dWinograd.applies(to: geometry(15, 512, 4, 4, 512, 1)))
            #expect(Conv2dWinograd.applies(to: geometry(1, 64, 32, 32, 64, 1)))
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(1, 64, 32, 32, 64, 1)))
            // At least 128 for the weight gradient: a single image at 16×16 (64 tiles) keeps the
            // implicit GEMM there but not in the other passes; 32 images at 4×4 (128) take it.
            #expect(Conv2dWinograd.applies(to: geometry(1, 128, 16, 16, 128, 1)))
            #expect(!Conv2dWinograd.appliesToWeightGradient(geometry(1, 128, 16, 16, 128, 1)))
            #expect(!Conv2dWinograd.appliesToWeightGradient(geometry(31, 512, 4, 4, 512, 1)))
        }
    }

    @Test func narrowTilingBounds() {
        KernelSettings.with({ $0.tiling = .narrow }) {
            // No channel bound on the weight gradient: 256 channels at 8×8, the 4×4 stage at batch 32.
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(32, 256, 8, 8, 256, 1)))
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(32, 512, 4, 4, 512, 1)))
            // No bound on filter pairs per tile: the 4×4 stage at batch 32 (128 tiles, 2048 pairs each).
            #expect(Conv2dWinograd.applies(to: geometry(32, 512, 4, 4, 512, 1)))
            // At least 64 tiles: 16 images at 4×4 yes, 15 no; single images at 32×32 and 16×16.
            #expect(Conv2dWinograd.applies(to: geometry(16, 512, 4, 4, 512, 1)))
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(16, 512, 4, 4, 512, 1)))
            #expect(!Conv2dWinograd.applies(to: geometry(15, 512, 4, 4, 512, 1)))
            #expect(!Conv2dWinograd.appliesToWeightGradient(geometry(15, 512, 4, 4, 512, 1)))
            #expect(Conv2dWinograd.applies(to: geometry(1, 64, 32, 32, 64, 1)))
            #expect(Conv2dWinograd.appliesToWeightGradient(geometry(1, 128, 16, 16, 128, 1)))
        }
    }
}
