import ArgumentParser

/// `lcnn bench …`: performance benchmarks printing one JSON object per line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark suite; prints one JSON object per line.",
        subcommands: [Kernels.self, Train.self, Methods.self, Curvature.self, Attack.self])

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GEMM, im2col GEMM shapes, conv2d forward/backward and softplus throughput.",
            discussion: """
                Each line holds `name`, `shape`, `ms` (the median of at least 10 timed runs after \
                warm-up), `gflops` or `gbps`, and `threads`. Build with `-c release`.
                """)

        @Option(help: "Only run benchmarks whose name contains this text.")
        var filter: String?

        func run() throws {
            KernelBenchmarks.run(filter: filter)
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Median ms per training step (forward, backward, SGD) for MLP2D, SmallCNN, ResNet-18.",
            discussion: """
                Standard and LCNN forms at the peer benchmark's batch sizes (256, 128, 32). Each line \
                holds `name`, `model`, `variant`, `batch` and `ms`. Build with `-c release`.
                """)

        @Option(help: "Only run cases whose \"model variant\" contains this text, e.g. \"smallcnn\" or \"lcnn\".")
        var filter: String?

        func run() throws { TrainBenchmarks.run(filter: filter) }
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

        func run() throws { try MethodBenchmarks.run(samples: samples, dataDirectory: data, filter: filter) }
    }

    struct Curvature: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hessian power iteration: SmallCNN, batch 32, 10 iterations + Rayleigh quotient (peer task T2).")
        func run() throws { CurvatureBenchmarks.run() }
    }

    struct Attack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ℓ2 PGD: SmallCNN, 256 images, ε 0.1, 10 steps of 0.01 (peer task T3).")
        func run() throws { AttackBenchmarks.run() }
    }
}
