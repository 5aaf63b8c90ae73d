import Foundation
import LCNNKit
import NN

/// `lcnn bench allreduce`: what one data-parallel step pays to communicate — the fused gradient
/// all-reduce of a model's parameters (SmallCNN, ResNet-18) among the processes of a
/// communicator (`mpirun`'s ranks in the CLI; any ``Communicator`` here, so this target needs no MPI).
public enum AllReduceBenchmarks {
    /// For each model, one warm-up all-reduce then `repeats` timed ones (each after a barrier);
    /// the root passes a line with `model`, `floats`, `ranks`, `ms` (median) and `gbps` (bytes
    /// reduced per second) to `emit`.
    public static func run(communicator: any Communicator, repeats: Int, emit: BenchmarkLines) {
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
                emit("{\"name\": \"allreduce\", \"model\": \"\(name)\", \"floats\": \(floats), \"ranks\": \(communicator.size), "
                     + "\"ms\": \(String(format: "%.3f", ms)), \"gbps\": \(String(format: "%.3f", Double(4 * floats) / (ms * 1e6)))}")
            }
        }
    }
}
