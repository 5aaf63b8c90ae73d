import Datasets
import Foundation
@testable import LCNNKit
import NN
import TensorCore
import Testing

/// SPEC T8: the files of a run, refusing mismatched resumes, and stopping on a non-finite loss
/// with the last good checkpoint intact.
@Suite("Trainer checkpoints and failures")
struct TrainerCheckpointTests {
    static let train = TrainFixtures.moons(96, seed: 1)
    static let test = TrainFixtures.moons(32, seed: 2)

    @Test("between checkpoint writes the best epoch's weights are kept and written as best.safetensors")
    func bestKeptBetweenWrites() throws {
        let dir = TrainFixtures.temporaryDirectory("best-pending")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = TrainFixtures.moonsConfig(.standard, epochs: 12, seed: 3)
        config.learningRate = 1   // a noisy run: its test accuracy peaks at epoch 6
        config.schedule = .constant
        let trainer = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir)
        trainer.checkpointInterval = .infinity   // nothing is written before the final epoch
        let history = try trainer.run()
        let best = history.map(\.testAccuracy).max()!
        let bestEpoch = history.firstIndex { $0.testAccuracy == best }!
        try #require(bestEpoch < history.count - 1, "the run must peak before its last epoch for this test to mean anything")

        let fresh = trainer.modelConfig.makeModel()
        let metadata = try fresh.loadCheckpoint(from: dir.appendingPathComponent(Trainer.bestCheckpointName))
        #expect(metadata["epoch"] == String(bestEpoch))
        #expect(Trainer.evaluate(fresh, on: Self.test).accuracy == best)
        #expect(try EpochMetrics.readLines(dir.appendingPathComponent(Trainer.metricsName)) == history)
    }

    @Test("a run writes config.json, metrics.jsonl, last and best checkpoints")
    func runFiles() throws {
        let dir = TrainFixtures.temporaryDirectory("files")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = TrainFixtures.moonsConfig(.lcnn, epochs: 2)
        config.activation = .swish
        config.trainSubset = 80
        let trainer = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir)
        let history = try trainer.run()
        #expect(history.count == 2)
        #expect(trainer.train.count == 80)

        for name in ["config.json", Trainer.metricsName, Trainer.lastCheckpointName, Trainer.bestCheckpointName] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name) exists")
        }
        #expect(try TrainConfig.load(from: dir.appendingPathComponent("config.json")) == config, "config.json round-trips")
        #expect(try EpochMetrics.readLines(dir.appendingPathComponent(Trainer.metricsName)) == history)

        // best.safetensors holds a model (no optimiser state) that loads strictly into a fresh one.
        let fresh = trainer.modelConfig.makeModel()
        let metadata = try fresh.loadCheckpoint(from: dir.appendingPathComponent(Trainer.bestCheckpointName))
        #expect(metadata["config"].map { try? JSONDecoder().decode(TrainConfig.self, from: Data($0.utf8)) } == config)
        // last.safetensors: the model plus the optimiser state under `optimizer.`, and the epoch.
        let last = try SafeTensors.read(from: dir.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(last.metadata["next_epoch"] == "2")
        #expect(last.metadata["epoch"] == "1")
        #expect(last.tensors.keys.contains { $0.hasPrefix("optimizer.") })
        let modelPart = last.tensors.filter { !$0.key.hasPrefix("optimizer.") }
        let diff = TrainFixtures.differences(TrainFixtures.snapshot(modelPart), TrainFixtures.snapshot(trainer.model.stateDict()))
        #expect(diff.isEmpty, "last.safetensors holds the final model: \(diff)")
        let h = history.map(\.testAccuracy)
        #expect(trainer.bestTestAccuracy == h.max()!)
    }

    @Test("resuming under another configuration is refused with a message")
    func resumeWithOtherConfiguration() throws {
        let dir = TrainFixtures.temporaryDirectory("other")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TrainFixtures.moonsConfig(.standard, epochs: 1)
        try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir).run()

        var other = config
        other.method = .gradreg
        other.epochs = 2
        let trainer = try Trainer(config: other, train: Self.train, test: Self.test, outputDirectory: dir)
        do {
            try trainer.resume()
            Issue.record("resume under another method succeeded")
        } catch let error as TrainingError {
            guard case .checkpoint(let message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(message.contains("another configuration"), "\(message)")
            #expect(message.contains(Trainer.lastCheckpointName))
        }
        #expect(trainer.nextEpoch == 0, "nothing was restored")

        // Only the number of epochs may differ.
        var longer = config
        longer.epochs = 3
        let ok = try Trainer(config: longer, train: Self.train, test: Self.test, outputDirectory: dir)
        try ok.resume()
        #expect(ok.nextEpoch == 1)
    }

    @Test("resuming with no checkpoint, or no directory, says so")
    func resumeWithoutCheckpoint() throws {
        let dir = TrainFixtures.temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TrainFixtures.moonsConfig(.standard, epochs: 1)
        let trainer = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir)
        #expect {
            try trainer.resume()
        } throws: { error in
            "\(error)".contains("nothing to resume") && "\(error)".contains(Trainer.lastCheckpointName)
        }
        let noDir = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: nil)
        #expect {
            try noDir.resume()
        } throws: { error in
            "\(error)".contains("--out")
        }
    }

    @Test("Trainer rejects invalid configurations and mismatched data before training")
    func trainerRejectsBadInput() {
        var bad = TrainFixtures.moonsConfig(.standard)
        bad.epochs = 0
        #expect(throws: TrainingError.self) { try Trainer(config: bad, train: Self.train, test: Self.test, outputDirectory: nil) }
        let images = TrainFixtures.images(count: 4, seed: 1)
        var cnn = TrainFixtures.smallCNNConfig(.standard)
        cnn.epochs = 1
        #expect(throws: TrainingError.self) { try Trainer(config: cnn, train: images, test: TrainFixtures.images(count: 4, size: 14, seed: 2), outputDirectory: nil) }
    }

    @Test("a NaN weight stops the run with nonFiniteLoss; the previous epoch's checkpoint stays and is finite")
    func nanStopsAndKeepsLastGoodCheckpoint() throws {
        let dir = TrainFixtures.temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = TrainFixtures.moonsConfig(.standard, epochs: 1)
        config.schedule = .cosine
        try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir).run()
        let lastURL = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let good = try Data(contentsOf: lastURL)

        config.epochs = 3
        let trainer = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir)
        try trainer.resume()
        trainer.model.namedParameters[0].tensor.withUnsafeMutableBufferPointer { $0[0] = .nan }
        do {
            try trainer.run()
            Issue.record("a NaN weight did not stop the run")
        } catch let TrainingError.nonFiniteLoss(epoch, step, term, value) {
            #expect(epoch == 1 && step == 0 && term == "cross_entropy" && value.isNaN, "\(epoch) \(step) \(term) \(value)")
            let message = "\(TrainingError.nonFiniteLoss(epoch: epoch, step: step, term: term, value: value))"
            #expect(message.contains("epoch 2") && message.contains("step 1") && message.contains("cross_entropy"), "\(message)")
        }
        #expect(try Data(contentsOf: lastURL) == good, "last.safetensors is the one of epoch 1")
        let fresh = trainer.modelConfig.makeModel()
        try fresh.loadCheckpoint(from: lastURL, strict: false)
        #expect(fresh.namedTensors.allSatisfy { $0.tensor.scalars.allSatisfy(\.isFinite) })
        #expect(try EpochMetrics.readLines(dir.appendingPathComponent(Trainer.metricsName)).count == 1)
    }

    @Test("resume refuses NaN weights naming the tensor; NaN optimiser state is not loaded and says so")
    func nonFiniteCheckpointOnResume() throws {
        let dir = TrainFixtures.temporaryDirectory("nan-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TrainFixtures.moonsConfig(.standard, epochs: 1)
        try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir).run()
        let url = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let original = try SafeTensors.read(from: url)
        func rewrite(_ key: String) throws {
            var tensors = original.tensors.mapValues { $0.copy() }
            tensors[key]!.withUnsafeMutableBufferPointer { $0[0] = .nan }
            try SafeTensors.write(tensors, to: url, metadata: original.metadata)
        }
        var longer = config
        longer.epochs = 2

        let weight = try #require(original.tensors.keys.sorted().first { !$0.hasPrefix(Trainer.optimizerPrefix) && $0.hasSuffix("weight") })
        try rewrite(weight)
        let refused = try Trainer(config: longer, train: Self.train, test: Self.test, outputDirectory: dir)
        let error = #expect(throws: CheckpointError.self) { try refused.resume() }
        #expect(error == .nonFiniteValues(file: url.path, tensor: weight, count: 1, total: original.tensors[weight]!.count))

        let state = try #require(original.tensors.keys.sorted().first { $0.hasPrefix(Trainer.optimizerPrefix) })
        try rewrite(state)
        let warned = try Trainer(config: longer, train: Self.train, test: Self.test, outputDirectory: dir)
        try warned.resume()
        #expect(warned.nextEpoch == 1)
        #expect(warned.warnings.count == 1 && warned.warnings[0].contains("\"\(state)\"") && warned.warnings[0].contains("not loaded"),
                "\(warned.warnings)")
        try warned.run()
        #expect(warned.history.count == 2 && warned.history.allSatisfy { $0.trainLoss.isFinite })
    }

    @Test("an absurd learning rate stops with nonFiniteLoss; the kept checkpoint and its metrics are finite")
    func absurdLearningRate() throws {
        let dir = TrainFixtures.temporaryDirectory("lr")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Three steps per epoch; with lr = 1e4 the first epoch finishes and the second diverges.
        var config = TrainFixtures.moonsConfig(.standard, epochs: 20)
        config.learningRate = 1e4
        config.momentum = 0
        config.schedule = .constant
        let trainer = try Trainer(config: config, train: Self.train, test: Self.test, outputDirectory: dir)
        var stopped: (epoch: Int, step: Int, term: String)?
        do {
            try trainer.run()
        } catch let TrainingError.nonFiniteLoss(epoch, step, term, _) {
            stopped = (epoch, step, term)
        }
        let stop = try #require(stopped, "lr = 1e4 should stop the run with nonFiniteLoss")
        #expect(["cross_entropy", "total", "train_loss", "test_loss"].contains(stop.term))
        if stop.epoch == 0 {
            // Diverged within the first epoch: no epoch was good, so nothing may be kept.
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(Trainer.lastCheckpointName).path))
            return
        }

        let message = "\(TrainingError.nonFiniteLoss(epoch: stop.epoch, step: stop.step, term: stop.term, value: .nan))"
        #expect(message.contains("epoch \(stop.epoch + 1)") && message.contains(stop.term), "\(message)")
        let file = try SafeTensors.read(from: dir.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(file.metadata["next_epoch"] == String(stop.epoch))
        let bad = file.tensors.filter { !$0.value.scalars.allSatisfy(\.isFinite) }.keys.sorted()
        #expect(bad.isEmpty, "the kept checkpoint has non-finite tensors: \(bad)")
        // The kept state is exactly the last good one: a run told to stop after that epoch ends there.
        let goodDir = TrainFixtures.temporaryDirectory("lr-good")
        defer { try? FileManager.default.removeItem(at: goodDir) }
        var good = config
        good.epochs = stop.epoch
        try Trainer(config: good, train: Self.train, test: Self.test, outputDirectory: goodDir).run()
        let reference = try SafeTensors.read(from: goodDir.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(TrainFixtures.differences(TrainFixtures.snapshot(reference.tensors), TrainFixtures.snapshot(file.tensors)).isEmpty,
                "last.safetensors differs from the state after epoch \(stop.epoch)")

        // One decodable metrics line per finished epoch, and the kept epoch evaluated to a finite loss.
        let text = try String(contentsOf: dir.appendingPathComponent(Trainer.metricsName), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == stop.epoch, "\(lines.count) metrics lines for \(stop.epoch) finished epochs")
        for (i, line) in lines.enumerated() {
            let m = try? JSONDecoder().decode(EpochMetrics.self, from: Data(line.utf8))
            #expect(m != nil, "metrics line \(i + 1) does not decode: \"\(line)\"")
        }
        let kept = trainer.history.last
        #expect(kept?.testLoss.isFinite == true && kept?.trainLoss.isFinite == true,
                "the checkpoint kept as good has train loss \(kept?.trainLoss ?? .nan), test loss \(kept?.testLoss ?? .nan)")
    }
}
