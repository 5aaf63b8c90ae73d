import ArgumentParser
import Foundation
import LCNNKit
import NN

/// `lcnn bench allreduce`: what one data-parallel step pays to communicate — the fused gradient
/// all-reduce of a model's parameters (SmallCNN, ResNet-18) among the processes of `mpirun`.
struct AllReduceBench: ParsableCommand {
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
            for (name, config) in [("smallcnn", ModelConfig(architecture: .smallcnn, seed: 1)),
                                   ("resnet18", ModelConfig(architecture: .resnet18, inputShape: [3, 32, 32], classes: 100, seed: 1))] {
                let gradients = config.makeModel().parameters.map { $0.copy() }
                let floats = gradients.reduce(0) { $0 + $1.count }
                communicator.allReduceSum(gradients)   // warm-up
                var times: [Double] = []
                for _ in 0..<max(1, repeats) {
                    communicator.barrier()
                    let start = Date()
                    communicator.allReduceSum(gradients)
                    times.append(1000 * Date().timeIntervalSince(start))
                }
                let ms = BenchmarkClock.Statistics(times).median
                if communicator.isRoot {
                    print("{\"name\": \"allreduce\", \"model\": \"\(name)\", \"floats\": \(floats), \"ranks\": \(communicator.size), "
                          + "\"ms\": \(String(format: "%.3f", ms)), \"gbps\": \(String(format: "%.3f", Double(4 * floats) / (ms * 1e6)))}")
                }
            }
        }
    }
}
