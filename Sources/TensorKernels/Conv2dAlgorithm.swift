// Which algorithm each pass of a convolution runs: a table of rules per pass, read top to bottom,
// the first rule whose condition holds wins, the implicit GEMM when none does. The public entry
// points (`conv2dForward`, `conv2dBackwardInput`, `conv2dBackwardWeight`, Conv2d.swift) handle the
// empty geometries first and then run the algorithm named here. Thread partitioning inside an
// algorithm (image chunks for strided backward-input, a split K for the weight gradient) depends on
// the thread count and is not part of this table.

/// The algorithms a convolution pass can run.
public enum Conv2dAlgorithm: String, Sendable, CaseIterable {
    /// Winograd F(2×2, 3×3): 16 products per 2×2 output tile and filter pair instead of 36
    /// (Conv2dWinograd.swift; the weight gradient in Conv2dWinogradWeightGrad.swift). 3×3 stride-1
    /// layers only; all three passes.
    case winograd
    /// Winograd F(4×4, 3×3): 36 products per 4×4 output tile and filter pair, 1.78× fewer than
    /// F(2×2, 3×3) (Conv2dWinogradLargeTiles.swift, on the driver of Conv2dWinograd.swift).
    /// All three passes, each with its own bound on the tiles.
    case winogradLargeTiles
    /// Implicit GEMM: packed panels gathered straight from a padded, phase-split copy of the input
    /// (forward: Conv2dForwardImplicitGEMM.swift; weight gradient: Conv2dWeightGrad.swift) or of dy,
    /// one GEMM per output phase (backward-input: Conv2dBackwardInputPhases.swift); the GEMM driver is
    /// Conv2dImplicitGEMM.swift. All three passes; the fallback of every table.
    case implicitGEMM
    /// Column matrix: backward-input as dcol = Wᵀ · dy, one explicit GEMM per group of images
    /// (M = C·KH·KW rows), then col2im (Conv2dColumns.swift); forward as y = W · cols per group
    /// after im2col (Conv2dForwardColumns.swift); the weight gradient as
    /// dWᵀ = Σₙ colsₙ · dYₙᵀ, one GEMM per image after im2col (Conv2dWeightGradColumns.swift).
    case columns
    /// Direct accumulation of at most four input channels from the zero-padded dy
    /// (Conv2dSmallChannels.swift). Backward-input only, stride 1.
    case smallChannels
}

/// One row of a dispatch table: `algorithm` runs when `applies` holds (and no earlier row did).
public struct Conv2dDispatchRule: Sendable {
    public let algorithm: Conv2dAlgorithm
    /// What the rule selects, in words.
    public let condition: String
    public let applies: @Sendable (Conv2dGeometry) -> Bool

    init(_ algorithm: Conv2dAlgorithm, _ condition: String, _ applies: @escaping @Sendable (Conv2dGeometry) -> Bool) {
        self.algorithm = algorithm
        self.condition = condition
        self.applies = applies
    }
}

// MARK: - Thresholds

/// Most input channels of the small-channel backward-input kernel: it accumulates up to four
/// channels in registers (`smallChannelChunk`, filters packed four wide). Structural, not a
/// measurement; chosen with the kernel in commit c15c8a5.
let smallChannelsMaxInputChannels = 4

/// From this many input channels up, 3×3 (more than one tap) stride-1 and strided backward-input
/// passes run the implicit phase GEMM; between `smallChannelsMaxInputChannels` + 1 and this
/// they run the column path. Origin not recorded; chosen in commit c15c8a5 (the tests of that
/// commit cover both sides: 47 and 48 channels, Conv2dImplicitTests); no comparison of the two
/// paths is recorded. The rates of that time, whichever path ran: BENCHMARKS.md "Convolutions
/// (implicit GEMM, 07:05)", `lcnn bench kernels --filter conv2d_`. One comparison since (issue 17,
/// 2026-12-07, AVX2, two threads, 3×3 valid, batch 128 at 26×26, best of 1 s, two runs): 32 → 64
/// channels (SmallCNN's conv2) columns 19.2 / 19.5 ms, phase GEMM 29.1 / 25.0; 16 → 32 columns
/// 5.9 / 9.7, phase 6.9 / 7.1; 40 → 64 columns 31.3 / 38.9, phase 28.4 / 31.2. Columns win
/// clearly at 32 channels and lose at 40, so on this machine the crossover lies between 32 and
/// 40, below this threshold; left at 48 until a geometry between 40 and 47 matters to a model
/// (BENCHMARKS.md, "third session").
let backwardInputPhaseGEMMMinChannels = 48

/// Most output pixels in a whole call (batch·OH·OW) for which the forward and backward-input
/// passes run on the column GEMMs: one 32-wide micro-tile of pixels, which the implicit GEMM
/// computes on one worker after packing W again, where the column GEMM splits W's rows over the
/// threads. Measured on the single-image convolutions of the LCNN power iteration (issue 17's
/// fifth session, AVX2, two threads, best of 4 alternating rounds; BENCHMARKS.md): columns ÷
/// implicit at 16 pixels 0.55 / 0.63 (forward / backward-input, 512 → 512 at 4×4), 0.69 / 0.21
/// (256 → 512 stride 2), 0.56 / 0.61 (two images at 4×4), 0.46 / 0.55 (one image at 2×2); at 64
/// pixels, stride 1, even or worse: 0.96 / 1.01 (256 → 256 at 8×8), 1.16 / 1.09 (four images at
/// 4×4), 1.73 / 1.36 (64 → 64 at 8×8).
let columnsMaxPixels = 32

/// Most output pixels in a whole call for which a strided backward-input pass runs on the column
/// GEMM: the phase GEMM cuts the call into sh·sw phases of a quarter of the pixels each, so it is
/// starved earlier than the forward pass. Measured as above, columns ÷ phase GEMM: 0.42 (128 →
/// 256 at 16×16, 64 pixels), 0.44 (four images 256 → 512 at 8×8, 64), 0.79 (64 → 128 at 32×32,
/// 256), 0.70 (four images 128 → 256, 256), 0.75 (16 images 256 → 512, 256). Larger calls (the
/// training batches) were not measured against it and keep the phase GEMM.
let stridedBackwardInputColumnsMaxPixels = 256

// The Winograd thresholds are named beside the Winograd code: `winogradMinChannels` (64) and
// `WinogradThresholds` (fewest tiles for every pass and for the weight gradient — one set per
// GEMM tiling, each measured on the machine that selects it) in Conv2dWinograd.swift.

// MARK: - The tables

/// The dispatch tables of the three convolution passes and the functions that read them.
public enum Conv2dDispatch {
    /// Forward pass: Winograd where it applies, the column GEMM for few pixels, else the implicit GEMM.
    public static let forwardRules: [Conv2dDispatchRule] = [
        largeTilesRule,
        Conv2dDispatchRule(.winograd, "3×3, stride 1, padding ≤ 2, ≥ 64 channels in and out, enough tiles, aligned tile rows "
                           + "(winogradApplies, Conv2dWinograd.swift)") { winogradApplies($0) },
        fewPixelsRule,
    ]

    /// Both passes that have a column form: at most ``columnsMaxPixels`` output pixels in the call.
    static let fewPixelsRule = Conv2dDispatchRule(.columns, "batch·OH·OW ≤ \(columnsMaxPixels) output pixels") { g in
        g.batch * g.outHeight * g.outWidth <= columnsMaxPixels
    }

    /// Both passes that have a Winograd form: F(4×4, 3×3) where Winograd applies with enough
    /// 4×4 tiles.
    static let largeTilesRule = Conv2dDispatchRule(.winogradLargeTiles, "as Winograd, with enough 4×4 tiles of aligned "
                                                   + "rows (winogradLargeTilesApply, Conv2dWinogradLargeTiles.swift)") {
        winogradLargeTilesApply($0)
    }

    /// Backward-input pass.
    public static let backwardInputRules: [Conv2dDispatchRule] = [
        largeTilesRule,
        Conv2dDispatchRule(.winograd, "as forward (winogradApplies, Conv2dWinograd.swift)") { winogradApplies($0) },
        fewPixelsRule,
        Conv2dDispatchRule(.columns, "strided, batch·OH·OW ≤ \(stridedBackwardInputColumnsMaxPixels) output pixels") { g in
            (g.strideHeight > 1 || g.strideWidth > 1)
                && g.batch * g.outHeight * g.outWidth <= stridedBackwardInputColumnsMaxPixels
        },
        // One input channel: the phase GEMM's M = C = 1 would fill one row of a 12-row micro-tile;
        // the column GEMM's M is KH·KW. Origin not recorded; chosen in commit c15c8a5.
        Conv2dDispatchRule(.columns, "one input channel") { $0.inChannels == 1 },
        Conv2dDispatchRule(.columns, "\(smallChannelsMaxInputChannels + 1)…\(backwardInputPhaseGEMMMinChannels - 1) "
                           + "input channels and more than one tap") { g in
            g.inChannels > smallChannelsMaxInputChannels && g.inChannels < backwardInputPhaseGEMMMinChannels
                && g.kernelHeight * g.kernelWidth > 1
        },
        // Strided 1×1 kernels: (sh·sw − 1)/(sh·sw) of dx is zero, which col2im writes once instead of
        // running empty phases. Origin not recorded; chosen in commit c15c8a5.
        Conv2dDispatchRule(.columns, "1×1 kernel, strided") { g in
            g.kernelHeight == 1 && g.kernelWidth == 1 && (g.strideHeight > 1 || g.strideWidth > 1)
        },
        // Stride 1 has a single output phase, and with a kernel of at least one tap that phase has
        // taps: the one GEMM problem the small-channel kernel runs on.
        Conv2dDispatchRule(.smallChannels, "stride 1, 2…\(smallChannelsMaxInputChannels) input channels") { g in
            g.strideHeight == 1 && g.strideWidth == 1 && g.inChannels <= smallChannelsMaxInputChannels
                && g.kernelHeight >= 1 && g.kernelWidth >= 1
        },
    ]

    /// Weight gradient: Winograd where it applies within its tile and channel bounds; per-image
    /// column GEMMs for few taps per filter; else the implicit GEMM.
    public static let weightGradRules: [Conv2dDispatchRule] = [
        Conv2dDispatchRule(.winogradLargeTiles, "as Winograd's weight gradient, with enough 4×4 tiles "
                           + "(winogradWeightGradLargeTilesApply, Conv2dWinogradLargeTiles.swift)") {
            winogradWeightGradLargeTilesApply($0)
        },
        Conv2dDispatchRule(.winograd, "as forward, with the weight gradient's tile and channel bounds "
                           + "(winogradWeightGradApplies, Conv2dWinogradWeightGrad.swift)") { winogradWeightGradApplies($0) },
        // The implicit GEMM puts C·KH·KW on its 32-wide tile columns; up to 16 taps, with at least
        // 16 output channels to fill the columns instead, the column GEMM keeps the tile full.
        Conv2dDispatchRule(.columns, "C·KH·KW ≤ \(weightGradColumnsMaxTaps) and ≥ 16 output channels") { g in
            g.inChannels * g.kernelHeight * g.kernelWidth <= weightGradColumnsMaxTaps && g.outChannels >= 16
        },
    ]

    /// The algorithm of the first rule of `rules` that applies to `g`, else the implicit GEMM.
    @inline(__always)
    static func firstMatch(_ rules: [Conv2dDispatchRule], _ g: Conv2dGeometry) -> Conv2dAlgorithm {
        for rule in rules where rule.applies(g) { return rule.algorithm }
        return .implicitGEMM
    }

    /// The algorithm `conv2dForward` runs for `g` (a geometry with work to do).
    public static func forwardAlgorithm(for g: Conv2dGeometry) -> Conv2dAlgorithm { firstMatch(forwardRules, g) }

    /// The algorithm `conv2dBackwardInput` runs for `g` (a geometry with work to do).
    public static func backwardInputAlgorithm(for g: Conv2dGeometry) -> Conv2dAlgorithm {
        firstMatch(backwardInputRules, g)
    }

    /// The algorithm `conv2dBackwardWeight` runs for `g` (a geometry with work to do).
    public static func weightGradAlgorithm(for g: Conv2dGeometry) -> Conv2dAlgorithm { firstMatch(weightGradRules, g) }
}
