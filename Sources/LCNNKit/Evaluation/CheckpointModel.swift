import Datasets
import Foundation
import NN
import TensorCore

/// A model rebuilt from a checkpoint written by ``Trainer`` (its metadata holds the model
/// configuration, the training configuration and the epoch).
public struct CheckpointModel {
    public let url: URL
    public let model: any Layer
    public let modelConfig: ModelConfig
    /// The run's training configuration, when the checkpoint holds one.
    public let trainConfig: TrainConfig?

    /// Loads `url`, rebuilds its model and loads the weights strictly (names and shapes must match).
    public init(url: URL) throws {
        let file = try SafeTensors.read(from: url)
        guard let json = file.metadata["model_config"],
              let config = try? JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) else {
            throw TrainingError.checkpoint("\(url.path) holds no model configuration in its metadata: "
                                           + "evaluate checkpoints written by `lcnn train` (last.safetensors or best.safetensors)")
        }
        self.url = url
        modelConfig = config
        trainConfig = file.metadata["config"].flatMap { try? JSONDecoder().decode(TrainConfig.self, from: Data($0.utf8)) }
        model = config.makeModel()
        let weights = file.tensors.filter { !$0.key.hasPrefix(Trainer.optimizerPrefix) }
        try model.loadStateDict(weights, source: url.path)
    }

    /// A short label: the run's method and the model form, e.g. `lcnn+gradreg (smallcnn, LCNN)`,
    /// and the activation when the run overrode the method's (`lcnn (smallcnn, LCNN, swish)`).
    public var label: String {
        let method = trainConfig?.method.rawValue ?? (modelConfig.lcnn ? "lcnn" : "standard")
        let activation = trainConfig?.activation.map { ", \($0.rawValue)" } ?? ""
        return "\(method) (\(modelConfig.architecture.rawValue)\(modelConfig.lcnn ? ", LCNN" : "")\(activation))"
    }

    /// The train and test splits for this checkpoint: `dataset`, or the one it was trained on,
    /// from `data` or the run's data directory (two moons regenerated with the run's settings).
    public func loadData(dataset: DatasetName? = nil, data: String? = nil) throws -> (train: Dataset, test: Dataset) {
        let c = trainConfig
        let name = dataset ?? c?.dataset ?? .fashionMNIST
        return try name.load(directory: data ?? c?.dataDirectory, seed: c?.seed ?? 0, moonsCount: c?.moonsCount ?? 1000,
                             moonsNoise: c?.moonsNoise ?? 0.1, moonsLabelNoise: c?.moonsLabelNoise ?? 0)
    }

    /// Stops with a clear error when `sampleShape` is not what the model was built for.
    public func checkInput(sampleShape: [Int], dataset: String) throws {
        guard sampleShape == modelConfig.inputShape else {
            throw TrainingError.invalidConfiguration("\(dataset) has samples of shape \(sampleShape), but the model in "
                                                     + "\(url.lastPathComponent) expects \(modelConfig.inputShape)")
        }
    }
}
