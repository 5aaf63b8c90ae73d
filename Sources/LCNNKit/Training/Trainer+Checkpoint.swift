import Foundation
import NN
import TensorCore

/// Checkpoints of a training run: written atomically (at most once per ``Trainer/checkpointInterval``
/// and after the final epoch), read by `--resume`.
extension Trainer {
    /// Key prefix of the optimiser's state inside `last.safetensors`.
    static let optimizerPrefix = "optimizer."

    /// Writes `metrics.jsonl`, `last.safetensors` and, when the test accuracy improved,
    /// `best.safetensors`. Each file is replaced atomically, so an interrupted write leaves the
    /// previous version intact.
    ///
    /// Files are written after an epoch when at least ``checkpointInterval`` seconds passed since
    /// the last write, and always after the final epoch: runs whose epochs take milliseconds (two
    /// moons) would otherwise spend nearly all their time waiting on the disk. A model that
    /// improved between two writes is copied and kept in memory until the next one.
    func saveCheckpoints(after metrics: EpochMetrics) throws {
        let improved = metrics.testAccuracy > bestTestAccuracy
        if improved { bestTestAccuracy = metrics.testAccuracy }
        guard let dir = outputDirectory, communicator.isRoot else { return }
        let due = nextEpoch >= config.epochs || Date().timeIntervalSince(lastCheckpointWrite) >= checkpointInterval
        if improved {
            // Written now when due; otherwise the weights will move on before the next write.
            let state = model.stateDict()
            pendingBest = (due ? state : state.mapValues { $0.copy() }, checkpointMetadata(epoch: metrics.epoch))
        }
        guard due else { return }

        let lines = history.map { $0.jsonLine() + "\n" }.joined()
        try Data(lines.utf8).write(to: dir.appendingPathComponent(Self.metricsName), options: .atomic)
        var tensors = model.stateDict()
        for (key, value) in optimizer.stateTensors() { tensors[Self.optimizerPrefix + key] = value }
        try saveSafeTensors(tensors, to: dir.appendingPathComponent(Self.lastCheckpointName),
                            metadata: checkpointMetadata(epoch: metrics.epoch))
        if let (best, metadata) = pendingBest {
            try saveSafeTensors(best, to: dir.appendingPathComponent(Self.bestCheckpointName), metadata: metadata)
            pendingBest = nil
        }
        lastCheckpointWrite = Date()
    }

    func checkpointMetadata(epoch: Int) -> [String: String] {
        ["format": "lcnn-training-checkpoint", "epoch": String(epoch), "next_epoch": String(nextEpoch),
         "best_test_accuracy": String(bestTestAccuracy), "config": config.json(),
         "model_config": String(decoding: (try? JSONEncoder().encode(modelConfig)) ?? Data(), as: UTF8.self)]
    }

    /// Continues from `outputDirectory/last.safetensors`: restores the weights, buffers and
    /// optimiser state, and the metrics of the epochs already run. The stored configuration must
    /// equal this trainer's except for the number of epochs (which may grow).
    public func resume() throws {
        guard let dir = outputDirectory else { throw TrainingError.checkpoint("--resume needs --out") }
        let url = dir.appendingPathComponent(Self.lastCheckpointName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.checkpoint("\(url.path) does not exist: nothing to resume")
        }
        let file = try SafeTensors.read(from: url)
        guard let stored = file.metadata["config"], let next = file.metadata["next_epoch"].flatMap(Int.init) else {
            throw TrainingError.checkpoint("\(url.path) is not a training checkpoint (no configuration or epoch in its metadata)")
        }
        var storedConfig = try JSONDecoder().decode(TrainConfig.self, from: Data(stored.utf8))
        storedConfig.epochs = config.epochs
        guard storedConfig == config else {
            throw TrainingError.checkpoint("\(url.path) was written by a run with another configuration:\n\(stored)")
        }
        // Pooling has no weights, so a model of another pooling would load without a word: a run
        // written before pooling was configurable decodes as max-pool and must stay one.
        if let json = file.metadata["model_config"],
           let storedModel = try? JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)),
           storedModel.pooling != modelConfig.pooling {
            throw TrainingError.checkpoint(
                "\(url.path) holds a model with \(storedModel.pooling.rawValue) pooling, this run builds \(modelConfig.pooling.rawValue) "
                    + "pooling (checkpoints written before --pooling existed are max-pool); retrain it, or evaluate it with lcnn eval")
        }
        var modelTensors: [String: Tensor] = [:], optimizerTensors: [String: Tensor] = [:]
        for (key, value) in file.tensors {
            if key.hasPrefix(Self.optimizerPrefix) { optimizerTensors[String(key.dropFirst(Self.optimizerPrefix.count))] = value }
            else { modelTensors[key] = value }
        }
        try model.loadStateDict(modelTensors, source: url.path)
        let corrupt = optimizerTensors.filter { $0.value.nonFiniteCount() != nil }.keys.sorted()
        if corrupt.isEmpty {
            try optimizer.loadState(optimizerTensors)
        } else {
            // The weights are sound, so the run can go on; the optimiser restarts from its initial state.
            warnings.append("\(url.path): optimiser state \(corrupt.map { "\"\(Self.optimizerPrefix)\($0)\"" }.joined(separator: ", ")) "
                            + "holds NaN or infinite values; it is not loaded and the optimiser restarts from its initial state "
                            + "(momentum and moment estimates zero), so this run will not match an uninterrupted one bit for bit")
        }
        nextEpoch = next
        bestTestAccuracy = file.metadata["best_test_accuracy"].flatMap(Double.init) ?? -1
        let metricsURL = dir.appendingPathComponent(Self.metricsName)
        history = FileManager.default.fileExists(atPath: metricsURL.path)
            ? try EpochMetrics.readLines(metricsURL).filter { $0.epoch < next } : []
    }
}
