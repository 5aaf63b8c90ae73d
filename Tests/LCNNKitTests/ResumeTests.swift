import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// SPEC T8: a run resumed from the checkpoint of epoch 1 reaches exactly the weights, buffers,
/// optimiser state and metrics of an uninterrupted run.
@Suite("Resume determinism")
struct ResumeTests {
    enum Problem: String, CaseIterable, CustomTestStringConvertible {
        case moonsStandard, moonsLCNN, moonsAdversarial, moonsGradReg, smallCNNStandard, smallCNNLCNN
        var testDescription: String { rawValue }

        var config: TrainConfig {
            var c: TrainConfig
            switch self {
            case .moonsStandard: c = TrainFixtures.moonsConfig(.standard)
            case .moonsLCNN: c = TrainFixtures.moonsConfig(.lcnn)
            case .moonsAdversarial: c = TrainFixtures.moonsConfig(.adversarial)
            case .moonsGradReg: c = TrainFixtures.moonsConfig(.gradreg); c.optimizer = .adam; c.learningRate = 1e-2
            case .smallCNNStandard: c = TrainFixtures.smallCNNConfig(.standard)
            case .smallCNNLCNN: c = TrainFixtures.smallCNNConfig(.lcnn)
            }
            // The learning rate of epoch 0 is the base rate whatever the number of epochs
            // (multistep with 1 epoch would put both milestones at epoch 0).
            c.schedule = .cosine
            return c
        }

        var data: (train: Dataset, test: Dataset) {
            switch self {
            case .smallCNNStandard, .smallCNNLCNN:
                return (TrainFixtures.images(count: 20, seed: 1), TrainFixtures.images(count: 6, seed: 2))
            default:
                return (TrainFixtures.moons(120, seed: 1), TrainFixtures.moons(40, seed: 2))
            }
        }
    }

    @Test("1 epoch + resume to 2 equals 2 epochs, bit for bit", arguments: Problem.allCases)
    func resumeMatchesUninterrupted(_ problem: Problem) throws {
        let (train, test) = problem.data
        var config = problem.config
        config.epochs = 2
        let full = TrainFixtures.temporaryDirectory("full")
        let part = TrainFixtures.temporaryDirectory("part")
        defer { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: part) }

        let uninterrupted = try Trainer(config: config, train: train, test: test, outputDirectory: full)
        try uninterrupted.run()

        var first = config
        first.epochs = 1
        try Trainer(config: first, train: train, test: test, outputDirectory: part).run()
        let resumed = try Trainer(config: config, train: train, test: test, outputDirectory: part)
        try resumed.resume()
        #expect(resumed.nextEpoch == 1)
        #expect(resumed.history.count == 1)
        try resumed.run()

        let diff = TrainFixtures.differences(TrainFixtures.snapshot(uninterrupted.model.stateDict()),
                                             TrainFixtures.snapshot(resumed.model.stateDict()))
        #expect(diff.isEmpty, "tensors that differ after resuming: \(diff)")
        let optDiff = TrainFixtures.differences(TrainFixtures.snapshot(uninterrupted.optimizer.stateTensors()),
                                                TrainFixtures.snapshot(resumed.optimizer.stateTensors()))
        #expect(optDiff.isEmpty, "optimiser state that differs: \(optDiff)")

        let a = try EpochMetrics.readLines(full.appendingPathComponent(Trainer.metricsName))
        let b = try EpochMetrics.readLines(part.appendingPathComponent(Trainer.metricsName))
        #expect(a.count == 2 && b.count == 2, "metrics.jsonl lines: \(a.count), \(b.count)")
        for (x, y) in zip(a, b) {
            #expect(x.epoch == y.epoch)
            #expect(x.trainLoss == y.trainLoss && x.testLoss == y.testLoss && x.testAccuracy == y.testAccuracy)
            #expect(x.terms == y.terms && x.meanBeta == y.meanBeta && x.meanGamma == y.meanGamma)
        }
        // The files agree too.
        let lastA = try loadSafeTensors(from: full.appendingPathComponent(Trainer.lastCheckpointName))
        let lastB = try loadSafeTensors(from: part.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(TrainFixtures.differences(TrainFixtures.snapshot(lastA), TrainFixtures.snapshot(lastB)).isEmpty)
    }

    @Test("two runs with the same seed are identical; another seed differs")
    func sameSeedSameRun() throws {
        let (train, test) = (TrainFixtures.moons(100, seed: 1), TrainFixtures.moons(40, seed: 2))
        var c = TrainFixtures.moonsConfig(.standard, epochs: 1)
        let a = try Trainer(config: c, train: train, test: test, outputDirectory: nil)
        let b = try Trainer(config: c, train: train, test: test, outputDirectory: nil)
        try a.run(); try b.run()
        #expect(TrainFixtures.differences(TrainFixtures.snapshot(a.model.stateDict()), TrainFixtures.snapshot(b.model.stateDict())).isEmpty)
        c.seed += 1
        let other = try Trainer(config: c, train: train, test: test, outputDirectory: nil)
        try other.run()
        #expect(!TrainFixtures.differences(TrainFixtures.snapshot(a.model.stateDict()), TrainFixtures.snapshot(other.model.stateDict())).isEmpty)
    }
}
