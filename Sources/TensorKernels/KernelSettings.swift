import Foundation

/// The tunable settings of the CPU kernels, as one value: GEMM block sizes, the parallel
/// threshold, the micro-kernel tiling, the thread budget, the Winograd switch and the
/// batch-norm–softplus fusion switch.
///
/// The kernels use ``current``: the process default (``processDefault``, from the environment and
/// the CPU) unless a caller overrides it for a scope with ``with(_:_:)``. A scoped override is a
/// task-local value, so concurrently running tests or tasks each see their own settings and
/// nothing leaks out of the scope.
///
/// Task-locals are not visible on Dispatch's worker threads, so every public kernel entry reads
/// ``current`` once, on the calling thread, and passes what it needs down to its workers and
/// serial helpers as parameters; micro-kernels and per-tile loops never read it.
public struct KernelSettings: Sendable, Equatable {
    /// K-block depth of the GEMM (the packed B micro-panel, KC·32·4 bytes, must fit in L1 next to
    /// an A panel).
    public var gemmKC = 256
    /// M-block height of the GEMM (multiple of 12); the packed A block is MC·KC floats.
    public var gemmMC = 144
    /// N-block width of the GEMM (multiple of 32); the packed B block is KC·NC floats (L2-resident).
    public var gemmNC = 1024
    /// GEMMs and convolutions below this many flops (2·m·n·k) run on the calling thread only.
    public var gemmParallelFlops = 4_000_000
    /// The register tile of the GEMM micro-kernel (both are correct; see ``GEMMTiling``).
    public var tiling: GEMMTiling
    /// Worker threads a kernel may use, the calling thread included (values below 1 count as 1).
    public var threads: Int
    /// Whether eligible 3×3, stride-1 convolutions take the Winograd path (`Conv2dWinograd`);
    /// off, they run the direct implicit GEMM.
    public var winograd = true
    /// Whether Winograd passes with enough 4×4 tiles use F(4×4, 3×3)
    /// (`Conv2dWinograd.appliesLargeTiles`, `appliesLargeTilesToWeightGradient`); off, every
    /// Winograd pass uses F(2×2, 3×3).
    public var winogradLargeTiles = true
    /// Whether Winograd passes of layers with more filters than tiles run by blocks of filters:
    /// forward and backward-input (`Conv2dWinograd.schedulesByFilterBlocks`,
    /// Conv2dWinogradFilterBlocks.swift) and the weight gradient
    /// (`Conv2dWinograd.weightGradSchedulesByFilterBlocks`); off, by blocks of tiles (of positions
    /// for a few-tile weight gradient). The values are the same: the same products, summed in the
    /// same order.
    public var winogradFilterBlocks = true
    /// Whether training-mode batch norm directly followed by softplus runs as one fused operation
    /// (`batchNormSoftplus` in TensorCore: one pass writing the activation, one fused backward
    /// kernel); off, as the two operations one after the other. The values are the same.
    public var fuseBatchNormSoftplus = true
    /// The fewest pixels per channel map (H·W) for which `batchNormSoftplus` fuses; smaller maps
    /// run the two operations (values below 16, one vector, count as 16). The fused kernels work
    /// channel by channel over rows of H·W values; on short rows their per-row work outweighs the
    /// passes they save. Measured (`lcnn bench kernels --filter bn_softplus`, fused ÷ unfused,
    /// interleaved pairs, three runs, AMD Zen 4, issue 17's ninth session; BENCHMARKS.md): batch
    /// 32, 64 channels at 32×32 0.82–0.90, 128 at 16×16 0.87–0.89, 256 at 8×8 0.90–0.94, 512 at
    /// 4×4 1.06–1.14; batch 128, the SmallCNN's 32 at 26×26 0.85–0.89 and 64 at 24×24 0.87–0.89.
    public var fuseBatchNormSoftplusMinPixels = 64
    /// Whether a residual block's sum directly followed by softplus, act(scale·(a + b)), runs as
    /// one fused operation (`scaledSumSoftplus` in TensorCore: one pass forward, the scale folded
    /// into the softplus backward kernel); off, as the sum and the activation one after the other.
    /// The values are the same up to rounding (bit for bit at scale 1 and ½).
    public var fuseSumSoftplus = true

    /// Settings with the given tiling and thread count and every other value at its default.
    public init(tiling: GEMMTiling = .detected, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.tiling = tiling
        self.threads = threads
    }

    /// The settings of a process that overrides nothing: `GEMMTiling.detected` (LCNN_GEMM_TILE or
    /// the CPU's AVX-512 support) and one thread per active processor.
    public static let processDefault = KernelSettings()

    /// The settings the kernels of the current task use: the innermost ``with(_:_:)`` scope's,
    /// else ``processDefault``.
    @TaskLocal public static var current: KernelSettings = processDefault

    /// Runs `body` with the kernels using `settings`.
    public static func with<R>(_ settings: KernelSettings, _ body: () throws -> R) rethrows -> R {
        try $current.withValue(settings, operation: body)
    }

    /// Runs `body` with the kernels using the current settings changed by `change`, e.g.
    /// `KernelSettings.with({ $0.threads = 1 }) { … }`.
    public static func with<R>(_ change: (inout KernelSettings) -> Void, _ body: () throws -> R) rethrows -> R {
        var settings = current
        change(&settings)
        return try with(settings, body)
    }

    /// The thread budget as the kernels use it (≥ 1).
    @inline(__always) var threadCount: Int { max(1, threads) }

    /// Threads for a GEMM or convolution of `flops` flops: the whole budget at or above
    /// ``gemmParallelFlops``, else one.
    @inline(__always) func threads(forFlops flops: Double) -> Int {
        flops >= Double(gemmParallelFlops) ? threadCount : 1
    }
}
