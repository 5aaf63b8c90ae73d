import Datasets
import Foundation
import NN
import TensorCore

/// Trains one model by one method (SPEC T1–T8): SGD or Adam with the paper's schedule,
/// per-epoch metrics, atomic checkpoints each epoch plus the best one, deterministic resumption,
/// and a stop with a clear message on a NaN or infinite loss.
///
/// Output directory layout: `config.json`, `metrics.jsonl` (one ``EpochMetrics`` per line),
/// `last.safetensors` (model, optimiser state under `optimizer.`, and the epoch and
/// configuration in the metadata) and `best.safetensors` (the model with the best test accuracy).
///
/// Every random choice of epoch e — the sample order, the dropout masks, the adversarial random
/// starts — is derived from (seed, e), so a run resumed from the checkpoint of epoch e − 1
/// produces exactly the weights of an uninterrupted run.
public final class Trainer {
    public let config: TrainConfig
    public let model: any Layer
    public let modelConfig: ModelConfig
    public let optimizer: ParameterOptimizer
    public let train: Dataset
    public let test: Dataset
    public let outputDirectory: URL?
    public let objective: Objective
    /// The next epoch to run (after a resume, the one after the checkpoint's).
    public internal(set) var nextEpoch = 0
    public internal(set) var bestTestAccuracy = -1.0
    public internal(set) var history: [EpochMetrics] = []
    /// Reports progress; nil is silent.
    public var progress: TrainingProgress?
    /// What ``resume()`` had to work around (e.g. non-finite optimiser state it did not load),
    /// for the caller to show.
    public internal(set) var warnings: [String] = []
    /// Least number of seconds between two checkpoint writes (the final epoch is always written);
    /// 0 writes after every epoch. See ``saveCheckpoints(after:)``.
    public var checkpointInterval: TimeInterval = 1
    var lastCheckpointWrite = Date.distantPast
    /// The processes this run is spread over (data parallelism, `--distributed`); one process
    /// by default. With more than one, see ``DataParallelStep``: each takes its rows of every
    /// batch, gradients are summed across processes before each optimiser step, and only rank 0
    /// writes files.
    public var communicator: any Communicator = SingleProcess()
    /// Seconds spent in the gradient all-reduce during the current epoch.
    var allReduceSeconds = 0.0
    var pendingBest: (tensors: [String: Tensor], metadata: [String: String])?

    public static let lastCheckpointName = "last.safetensors"
    public static let bestCheckpointName = "best.safetensors"
    public static let metricsName = "metrics.jsonl"

    /// Builds the model and optimiser for `config` on already loaded data.
    public init(config: TrainConfig, train: Dataset, test: Dataset, outputDirectory: URL?) throws {
        try config.validate()
        guard train.count > 0, test.count > 0 else { throw TrainingError.invalidConfiguration("empty dataset") }
        guard train.sampleShape == test.sampleShape else {
            throw TrainingError.invalidConfiguration("train samples \(train.sampleShape) and test samples \(test.sampleShape) differ")
        }
        self.config = config
        self.train = config.trainSubset.map { train.prefix($0) } ?? train
        self.test = config.testSubset.map { test.prefix($0) } ?? test
        let base = ModelConfig(architecture: config.architecture, inputShape: train.sampleShape, classes: train.classes,
                               hiddenWidths: config.hiddenWidths, seed: config.seed, pooling: config.pooling ?? .average)
        modelConfig = config.method.modelConfig(from: base, activationOverride: config.activation)
        model = modelConfig.makeModel()
        optimizer = Self.makeOptimizer(config, model: model)
        var options = config.objective
        if config.dataset == .moons { options.inputRange = nil }   // coordinates, not pixels
        objective = Objective(method: config.method, options: options)
        self.outputDirectory = outputDirectory
        if let outputDirectory {
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        }
    }

    static func makeOptimizer(_ c: TrainConfig, model: any Layer) -> ParameterOptimizer {
        switch c.optimizer {
        case .sgd:
            return SGD(parameters: model.namedParameters, learningRate: c.learningRate, momentum: c.momentum, weightDecay: c.weightDecay)
        case .adam:
            return Adam(parameters: model.namedParameters, learningRate: c.learningRate, weightDecay: c.weightDecay)
        case .adamw:
            return AdamW(parameters: model.namedParameters, learningRate: c.learningRate, weightDecay: c.weightDecay)
        }
    }

    /// The learning rate of `epoch` under the configured schedule.
    public func learningRate(epoch: Int) -> Float {
        switch config.schedule {
        case .multistep: return MultiStepSchedule.paper(base: config.learningRate, epochs: config.epochs).learningRate(epoch: epoch)
        case .cosine: return CosineSchedule(base: config.learningRate, epochs: config.epochs).learningRate(epoch: epoch)
        case .constant: return config.learningRate
        }
    }

    /// Derives the seed of one random stream of one epoch.
    func seed(_ stream: UInt64, epoch: Int) -> UInt64 {
        var g = SeededGenerator(seed: config.seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(epoch) &* 0xBF58_476D_1CE4_E5B9))
        return g.next()
    }

    /// Runs the remaining epochs; returns every epoch's metrics (including those before a resume).
    @discardableResult
    public func run() throws -> [EpochMetrics] {
        if communicator.size > 1 { communicator.broadcast(model.namedTensors.map(\.tensor), root: 0) }
        if let dir = outputDirectory, nextEpoch == 0, communicator.isRoot {
            try Data(config.json().utf8).write(to: dir.appendingPathComponent("config.json"), options: .atomic)
            try Data().write(to: dir.appendingPathComponent(Self.metricsName), options: .atomic)
        }
        while nextEpoch < config.epochs {
            let metrics = try runEpoch(nextEpoch)
            for (term, value) in [("train_loss", metrics.trainLoss), ("test_loss", metrics.testLoss)] where !value.isFinite {
                // The weights have diverged: keep the previous epoch's checkpoint as the last good one.
                throw TrainingError.nonFiniteLoss(epoch: nextEpoch, step: -1, term: term, value: Float(value))
            }
            history.append(metrics)
            nextEpoch += 1
            try saveCheckpoints(after: metrics)
            progress?.epochEnded(metrics)
        }
        return history
    }

    /// One epoch: training, then evaluation on the test set.
    func runEpoch(_ epoch: Int) throws -> EpochMetrics {
        let lr = learningRate(epoch: epoch)
        optimizer.learningRate = lr
        for (i, d) in model.sublayers(of: Dropout.self).enumerated() { d.reseed(seed(0xD0 &+ UInt64(i), epoch: epoch)) }
        var generator = SeededGenerator(seed: seed(0xADE, epoch: epoch) ^ DataParallelStep.streamOffset(rank: communicator.rank))
        let loader = DataLoader(dataset: train, batchSize: config.batchSize, shuffle: true, dropLast: false,
                                seed: config.seed, augmentation: config.dataset.augmentation)
        let batches = loader.batches(epoch: epoch)
        var lossSum = 0.0, correct = 0, seen = 0
        var termSums: [String: Double] = [:]
        let start = Date()
        allReduceSeconds = 0
        var stepsRun = 0
        for (step, batch) in batches.enumerated() {
            guard let part = DataParallelStep(batch: batch, communicator: communicator) else { continue }
            let value = part.run { training { objective.evaluate(model: model, x: part.images, labels: part.labels, generator: &generator) } }
            let scalars = part.globalScalars(value)
            for (name, v) in zip(value.terms.map(\.name), scalars.terms) {
                guard v.isFinite else { throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, term: name, value: Float(v)) }
                termSums[name, default: 0] += v
            }
            let total = scalars.total
            guard total.isFinite else { throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, term: "total", value: Float(total)) }
            optimizer.zeroGrad()
            part.backward(value.total)
            allReduceSeconds += part.allReduceGradients(model.parameters)
            optimizer.step()
            stepsRun += 1
            lossSum += total
            correct += scalars.correct
            seen += batch.count
            let elapsed = Date().timeIntervalSince(start)
            let rate = Double(seen) / max(elapsed, 1e-9)
            progress?.step(epoch: epoch, step: step, steps: batches.count, loss: lossSum / Double(stepsRun),
                           accuracy: Double(correct) / Double(seen), samplesPerSecond: rate,
                           secondsLeft: Double(loader.sampleCount - seen) / rate
                               + Double(config.epochs - epoch - 1) * Double(loader.sampleCount) / rate)
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let evalStart = Date()
        let (testLoss, testAccuracy) = communicator.size > 1 ? DataParallelStep.evaluate(model, on: test, communicator: communicator)
            : evaluate(test)
        let betas = LCNNPenalty.logBetas(of: model).map { Double(Foundation.exp($0.item)) }
        let gammas = LCNNPenalty.logGammas(of: model).map { Double(Foundation.exp($0.item)) }
        return EpochMetrics(
            epoch: epoch, learningRate: lr, trainLoss: lossSum / Double(max(stepsRun, 1)),
            trainAccuracy: Double(correct) / Double(max(seen, 1)), testLoss: testLoss, testAccuracy: testAccuracy,
            terms: termSums.mapValues { $0 / Double(max(stepsRun, 1)) },
            meanBeta: betas.isEmpty ? nil : betas.reduce(0, +) / Double(betas.count),
            meanGamma: gammas.isEmpty ? nil : gammas.reduce(0, +) / Double(gammas.count),
            trainSeconds: trainSeconds, evalSeconds: Date().timeIntervalSince(evalStart),
            samplesPerSecond: Double(seen) / max(trainSeconds, 1e-9), steps: stepsRun,
            ranks: communicator.size > 1 ? communicator.size : nil, allReduceSeconds: communicator.size > 1 ? allReduceSeconds : nil)
    }

    /// Mean cross-entropy and accuracy on `dataset` in evaluation mode.
    public func evaluate(_ dataset: Dataset, batchSize: Int = 500) -> (loss: Double, accuracy: Double) {
        Self.evaluate(model, on: dataset, batchSize: batchSize)
    }

    /// Mean cross-entropy and accuracy of `model` on `dataset` in evaluation mode.
    public static func evaluate(_ model: any Layer, on dataset: Dataset, batchSize: Int = 500) -> (loss: Double, accuracy: Double) {
        let (loss, correct) = evaluatePerSample(model, on: dataset, batchSize: batchSize)
        return (loss, Double(correct.filter { $0 }.count) / Double(max(dataset.count, 1)))
    }

    /// Mean cross-entropy of `model` on `dataset` in evaluation mode, and whether each sample is
    /// classified correctly (in dataset order): the per-sample record that paired tests need.
    public static func evaluatePerSample(_ model: any Layer, on dataset: Dataset, batchSize: Int = 500) -> (loss: Double, correct: [Bool]) {
        let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false)
        var loss = 0.0
        var correct: [Bool] = []
        correct.reserveCapacity(dataset.count)
        for batch in loader.batches(epoch: 0) {
            let logits = model.predict(batch.images)
            loss += Double(withoutGrad { crossEntropy(logits: logits, labels: batch.labels, reduction: .sum) }.item)
            correct += zip(logits.argmax(axis: 1), batch.labels).map { $0 == $1 }
        }
        return (loss / Double(max(dataset.count, 1)), correct)
    }
}
