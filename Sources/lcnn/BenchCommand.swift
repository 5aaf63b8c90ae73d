import ArgumentParser

/// `lcnn bench …`: performance benchmarks printing one JSON object per line.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark suite; prints one JSON object per line.",
        subcommands: [Kernels.self])

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
}
