import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore

/// `lcnn bench methods`: the training cost of every method (SPEC G7, the paper's Table 1
/// cost column): seconds per epoch of SmallCNN on Fashion-MNIST (batch 128), measured on the
/// first `samples` training images and scaled to the full 60,000, and the ratio to Standard
/// measured in the same run.
public enum MethodBenchmarks {
    /// One line per method to `emit`, Standard first (`filter` keeps the methods whose name
    /// contains it; Standard always runs).
    public static func run(samples: Int, dataDirectory: String?, filter: String?, emit: BenchmarkLines) throws {
        let train = try FashionMNIST.load(directory: dataDirectory, split: .train)
        let subset = train.prefix(samples)
        var standardSeconds: Double?
        for (index, method) in TrainingMethod.allCases.enumerated() {
            if let filter, !method.rawValue.contains(filter), method != .standard { continue }
            var config = TrainConfig()
            config.dataset = .fashionMNIST
            config.architecture = .smallcnn
            config.method = method
            config.epochs = 1
            config.seed = 1
            if index == 0 {
                // Warm-up (not timed): the first steps of a process fault in fresh memory.
                _ = try Trainer(config: config, train: subset.prefix(512), test: subset.prefix(128), outputDirectory: nil).run()
            }
            let trainer = try Trainer(config: config, train: subset, test: subset.prefix(128), outputDirectory: nil)
            let metrics = try trainer.run()[0]
            let perEpoch = metrics.trainSeconds * Double(train.count) / Double(subset.count)
            if method == .standard { standardSeconds = perEpoch }
            let ratio = standardSeconds.map { perEpoch / $0 } ?? 1
            emit("{\"name\": \"epoch_seconds\", \"model\": \"smallcnn\", \"dataset\": \"fashion-mnist\", \"method\": \"\(method.rawValue)\", "
                  + "\"samples_measured\": \(subset.count), \"seconds_per_epoch\": \(String(format: "%.1f", perEpoch)), "
                  + "\"ms_per_step\": \(String(format: "%.1f", 1000 * metrics.trainSeconds / Double((subset.count + 127) / 128))), "
                  + "\"ratio_to_standard\": \(String(format: "%.2f", ratio))}")
        }
    }
}
