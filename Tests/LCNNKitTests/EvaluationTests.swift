import Datasets
import Foundation
import LCNNKit
import NN
import Testing
import TensorCore

/// `lcnn eval`'s library side: rebuilding models from training checkpoints, clear errors for
/// mismatched checkpoints and datasets, and the measurements and tables of one evaluation.
@Suite("Evaluation")
struct EvaluationTests {
    static let train = TrainFixtures.moons(96, seed: 1)
    static let test = TrainFixtures.moons(48, seed: 2)

    /// Trains a tiny two-moons run into a temporary directory; returns the directory and trainer.
    static func trainedRun(_ method: TrainingMethod) throws -> (URL, Trainer) {
        let dir = TrainFixtures.temporaryDirectory("eval-\(method.rawValue)")
        let trainer = try Trainer(config: TrainFixtures.moonsConfig(method, epochs: 2), train: train, test: test, outputDirectory: dir)
        try trainer.run()
        return (dir, trainer)
    }

    @Test("a training checkpoint rebuilds the model with the same predictions", arguments: [TrainingMethod.standard, .lcnn])
    func rebuildsModel(_ method: TrainingMethod) throws {
        let (dir, trainer) = try Self.trainedRun(method)
        defer { try? FileManager.default.removeItem(at: dir) }
        let loaded = try CheckpointModel(url: dir.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(loaded.modelConfig == trainer.modelConfig)
        #expect(loaded.trainConfig?.method == method)
        #expect(loaded.model.predict(Self.test.images).scalars == trainer.model.predict(Self.test.images).scalars)
    }

    @Test("a file without a model configuration is refused with a message")
    func refusesPlainFiles() throws {
        let dir = TrainFixtures.temporaryDirectory("eval-plain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("plain.safetensors")
        try saveSafeTensors(["w": Tensor.ones([2])], to: url)
        #expect(throws: TrainingError.self) { try CheckpointModel(url: url) }
        do { _ = try CheckpointModel(url: url) } catch { #expect("\(error)".contains("no model configuration")) }
    }

    @Test("a checkpoint whose tensors do not fit its declared model is refused, naming the tensors")
    func refusesMismatchedWeights() throws {
        let (dir, _) = try Self.trainedRun(.standard)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let file = try SafeTensors.read(from: url)
        var config = try JSONDecoder().decode(ModelConfig.self, from: Data(file.metadata["model_config"]!.utf8))
        config.hiddenWidths = [8, 8]
        var metadata = file.metadata
        metadata["model_config"] = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        try saveSafeTensors(file.tensors, to: url, metadata: metadata)
        do {
            _ = try CheckpointModel(url: url)
            Issue.record("a mismatched checkpoint loaded")
        } catch {
            #expect("\(error)".contains("layers.0.weight"), "\(error)")
        }
    }

    @Test("a dataset of the wrong shape is refused with both shapes named")
    func refusesWrongDataset() throws {
        let (dir, _) = try Self.trainedRun(.standard)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try CheckpointModel(url: dir.appendingPathComponent(Trainer.lastCheckpointName))
        let images = TrainFixtures.images(count: 8, size: 10, classes: 2, seed: 1)
        #expect(throws: TrainingError.self) { try Evaluation.evaluate(model, train: images, test: images, options: EvaluationOptions()) }
        do { try model.checkInput(sampleShape: images.sampleShape, dataset: "synthetic") } catch {
            #expect("\(error)".contains("[1, 10, 10]") && "\(error)".contains("[2]"), "\(error)")
        }
    }

    @Test("an evaluation measures everything and the tables hold one row per model")
    func evaluatesAndReports() throws {
        let (dirA, _) = try Self.trainedRun(.standard)
        let (dirB, _) = try Self.trainedRun(.lcnn)
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        var options = EvaluationOptions()
        options.samples = 24
        options.batchSize = 12
        options.powerIterations = 5
        let results = try [dirA, dirB].map {
            try Evaluation.evaluate(CheckpointModel(url: $0.appendingPathComponent(Trainer.bestCheckpointName)),
                                    train: Self.train, test: Self.test, options: options)
        }
        for r in results {
            let test = try #require(r.test)
            #expect(test.count == 24 && test.gradientNorm.mean.isFinite && test.spectralNorm.mean >= 0)
            #expect(r.discrepancy != nil && r.train != nil)
            let pgd = try #require(r.pgd)
            #expect(pgd.points.map(\.epsilon) == AttackKind.paperEpsilons)
            #expect(pgd.points.allSatisfy { $0.robustAccuracy <= pgd.cleanAccuracy + 1e-12 })
            #expect(r.fgsm != nil && r.curvatureBound > 0 && r.trainSecondsPerEpoch != nil)
        }
        let report = EvaluationReport(results)
        #expect(report.table1.split(separator: "\n").count == 2 + results.count)
        #expect(report.table2.split(separator: "\n").count == 2 + 2 * results.count)
        #expect(report.table3.contains(results[1].label))
        #expect(report.csv.split(separator: "\n").count == 1 + results.count)
        #expect(report.markdown.contains("Table 2") && report.markdown.contains("Table 3"))
        // Without attacks or discrepancy (`lcnn curvature`) those tables are left out, not printed empty.
        let curvatureOnly = results.map { r -> EvaluationResult in
            var r = r
            (r.pgd, r.fgsm, r.discrepancy) = (nil, nil, nil)
            return r
        }
        let reduced = EvaluationReport(curvatureOnly).markdown
        #expect(reduced.contains("Table 1") && !reduced.contains("Table 2") && !reduced.contains("Table 3"))
    }
}
