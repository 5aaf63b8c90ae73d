import ArgumentParser
import Benchmarks
import Foundation
import TensorKernels

/// `lcnn bench …`: performance benchmarks printing one JSON object per line. The suites live in
/// the `Benchmarks` library; these commands parse their options, run them and print.
struct BenchCommand: ParsableCommand {
    /// Prints one result line and flushes, so a long suite shows its lines as they come.
    static func printLine(_ line: String) {
        print(line)
        fflush(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark suite; prints one JSON object per line.",
        subcommands: [Kernels.self, Train.self, Methods.self, Curvature.self, Attack.self, Peers.self, AllReduce.self])

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM, im2col GEMM shapes, conv2d forward/backward, softplus, batch norm + softplus and dropout throughput.",
            discussion: """
                Each line holds `name`, `shape`, `ms` (the median of at least 10 timed runs after \
                warm-up), `gflops` or `gbps`, and `threads` (BENCH_THREADS, default 2). GEMM lines add numpy's sgemm of the same \
                shape measured in alternation (five rounds; a naive loop without numpy): `reference_gflops`, \
                `ratio_to_reference` (best ÷ best) and `ratio_to_reference_rounds` (one ratio per round: \
                the spread is this run's noise). Convolutions that take Winograd also print, in the same \
                process, `_small_tiles` twins (F(2×2, 3×3) where F(4×4, 3×3) runs) and `_direct` twins \
                (the implicit GEMM), and where a pass runs by filter blocks `_tile_blocks` twins (by \
                blocks of tiles or of positions), all with the direct convolution's flop count, timed in interleaved \
                rounds with the dispatched pass; each twin's `ratio_default_to_twin` is the median over \
                the rounds of the dispatched pass's time ÷ the twin's (below 1: the default is faster). \
                The `dropout_` lines time \
                the counter-based mask on SmallCNN's first dropout layer at batch 128: alone, with x·mask \
                in the same pass (what `dropout` runs), and followed by a separate product. The \
                `bn_softplus_` lines time training batch norm + softplus, forward and backward, fused \
                against the two operations (their `_unfused` twins) in interleaved pairs on each \
                ResNet-18 stage and the SmallCNN's layers, with `ratio_to_unfused` (median of the pairs). \
                Build with `-c release`.
                """)

        @Option(help: "Only run benchmarks whose name contains this text.")
        var filter: String?

        func run() throws {
            KernelBenchmarks.run(filter: filter, emit: BenchCommand.printLine)
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Median ms per training step (forward, backward, SGD) for MLP2D, SmallCNN, ResNet-18.",
            discussion: """
                Standard and LCNN forms at the peer benchmark's batch sizes (256, 128, 32). The first line \
                is the GFLOP/s of a large GEMM measured now; each case's line holds `name`, `model`, \
                `variant`, `batch`, `ms` (the median step, Standard and LCNN alternating step by step for \
                about 15 s), `steps`, the step's GEMM and convolution GFLOP, its floor at that rate \
                (`floor_ms`) and `ratio_to_floor`, and for LCNN `ratio_to_standard` (the median of the \
                LCNN ÷ Standard ratios of neighbouring steps) with `ratio_to_standard_interval`, a \
                distribution-free 95 % interval for that median. Build with `-c release`.
                """)

        @Option(help: "Only run cases whose \"model variant\" contains this text, e.g. \"smallcnn\" or \"lcnn\".")
        var filter: String?

        @Flag(help: "Run 3×3 stride-1 convolutions as direct implicit GEMMs instead of Winograd.")
        var directConv = false

        @Flag(help: "Run Winograd convolutions on F(2×2, 3×3) tiles only, also where F(4×4, 3×3) applies.")
        var smallWinogradTiles = false

        @Flag(help: "Run training batch norm and the softplus after it as two ops instead of the fused batchNormSoftplus.")
        var unfusedBatchNorm = false

        @Flag(help: "Add each kernel's share of the step (`profile`: kernel → fraction; `other` is time outside the kernels).")
        var profile = false

        func run() throws {
            KernelSettings.with({
                $0.winograd = !directConv
                $0.winogradLargeTiles = !smallWinogradTiles
                $0.fuseBatchNormSoftplus = !unfusedBatchNorm
            }) {
                TrainBenchmarks.run(filter: filter, profile: profile, emit: BenchCommand.printLine)
            }
        }
    }

    struct Methods: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seconds per epoch of every training method (SmallCNN on Fashion-MNIST) and the ratio to Standard.",
            discussion: """
                Trains one epoch of each method on the first --samples training images (batch 128) and \
                scales to the full 60,000. Each line holds `method`, `seconds_per_epoch`, `ms_per_step` and \
                `ratio_to_standard` (Standard is measured first, in the same run).
                """)

        @Option(help: "Training images measured per method.") var samples = 6400
        @Option(help: "Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist).") var data: String?
        @Option(help: "Only methods whose name contains this text (Standard always runs).") var filter: String?

        func run() throws {
            try MethodBenchmarks.run(samples: samples, dataDirectory: data, filter: filter, emit: BenchCommand.printLine)
        }
    }

    struct Curvature: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hessian power iteration: SmallCNN, batch 32, 10 iterations + Rayleigh quotient (peer task T2).")
        func run() throws { CurvatureBenchmarks.run(emit: BenchCommand.printLine) }
    }

    struct Attack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ℓ2 PGD: SmallCNN, 256 images, ε 0.1, 10 steps of 0.01 (peer task T3); then APGD-CE against PGD with the same gradient evaluations.")
        @Option(name: .customLong("apgd-images"), help: "Images of the APGD-CE vs PGD comparison (0 skips it).") var apgdImages = 1000
        @Option(name: .customLong("apgd-iterations"), help: "APGD iterations (PGD gets one more step: the same gradient evaluations).") var apgdIterations = 100
        @Option(help: "Alternating runs of each attack; medians are reported.") var repeats = 3
        func run() throws {
            AttackBenchmarks.run(apgdImages: apgdImages, apgdIterations: apgdIterations, repeats: repeats,
                                 emit: BenchCommand.printLine)
        }
    }

    struct Peers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The peer baselines' tasks T1–T4 (shared/bench/peers) in their JSON schema, label \"swift\".",
            discussion: """
                Runs the tasks of torch_bench.py with the same definitions: T1 one training step of \
                MLP2D (batch 256), SmallCNN (128) and ResNet18 (32), variants standard, lcnn, gradreg \
                and lcnn+gradreg; T2 Hessian power iteration (SmallCNN, batch 32, 10 + 1 HVPs); T3 ℓ2 \
                PGD (SmallCNN, 256 images, ε 0.1, 10 steps of 0.01); T4 eval-mode inference without \
                gradient recording (SmallCNN 1024, ResNet18 128; standard and lcnn). Each line holds \
                framework, label, framework_version, threads, task, model, variant, batch, median_ms, \
                min_ms, mean_ms, max_ms, warmup, reps and check; summarize.py puts them in a "swift" \
                column. Kernel threads: BENCH_THREADS, default 2 (as the peers). Build with -c release.

                Differences from the peers: GradReg. The peers add 1e-3·‖∂(mean CE)/∂x‖², i.e. \
                1e-3/B²·Σᵢ‖∇ₓℓᵢ‖², while the toolkit's objective scales its weight λg as \
                λg/B·Σᵢ‖∇ₓℓᵢ‖². By default (--gradreg-scale peer) λg = 1e-3/B reproduces the peers' \
                term; --gradreg-scale toolkit uses λg = 1e-3 (same work, a B times larger penalty). \
                Timing: warm-ups then reps, all kept; unlike the peers' benchutil there is no idle wait \
                and no discarding of repetitions disturbed by other processes, so run it on an idle \
                machine. Inputs have the peers' distributions but come from the toolkit's generator.
                """)

        @Option(help: "Comma-separated substrings of task ids, e.g. T1/SmallCNN/lcnn+gradreg,T2,T4/ResNet18; runs tasks matching any.")
        var only: String?
        @Option(help: "Untimed runs before timing (at least 3).") var warmup = 3
        @Option(help: "Timed runs (at least 10).") var reps = 10
        @Option(help: "Append the JSON lines to this file.") var out: String?
        @Option(help: "GradReg penalty scaling: peer (1e-3·‖∂(mean CE)/∂x‖², the default) or toolkit (1e-3/B·Σᵢ‖∇ₓℓᵢ‖²).")
        var gradregScale: String = PeerBenchmarks.GradRegScale.peer.rawValue

        func validate() throws {
            guard warmup >= 3 else { throw ValidationError("--warmup must be at least 3") }
            guard reps >= 10 else { throw ValidationError("--reps must be at least 10") }
            guard PeerBenchmarks.GradRegScale(rawValue: gradregScale) != nil else {
                throw ValidationError("--gradreg-scale must be peer or toolkit")
            }
            guard !PeerBenchmarks.selected(only: only).isEmpty else {
                throw ValidationError("--only \(only ?? "") matches no task")
            }
        }

        func run() throws {
            try PeerBenchmarks.run(only: only, warmup: warmup, reps: reps, out: out,
                                   gradRegScale: PeerBenchmarks.GradRegScale(rawValue: gradregScale) ?? .peer,
                                   emit: BenchCommand.printLine)
        }
    }

    /// `lcnn bench allreduce` (under `mpirun` with `--distributed`).
    struct AllReduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allreduce",
            abstract: "Median ms of the fused gradient all-reduce of SmallCNN and ResNet-18 among the processes of mpirun.",
            discussion: """
                Run as `mpirun -np N lcnn bench allreduce --distributed` (an lcnn built with LCNN_MPI=1). Each line \
                holds `model`, `floats`, `ranks`, `ms` (median of --repeats) and `gbps` (bytes reduced per second). \
                Rank 0 prints.
                """)

        @Option(help: "Timed all-reduces per model (after one warm-up).") var repeats = 20
        @Flag(help: DistributedLaunch.help) var distributed = false

        func run() throws {
            let communicator = try DistributedLaunch.communicator(distributed)
            try DistributedLaunch.run(communicator, command: "lcnn bench allreduce") {
                AllReduceBenchmarks.run(communicator: communicator, repeats: repeats, emit: BenchCommand.printLine)
            }
        }
    }
}
