import Foundation
import LCNNKit
import NN
import Testing

/// `TrainConfig` as JSON (`--config`, `config.json`) and its validation.
@Suite("TrainConfig")
struct TrainConfigTests {
    static func write(_ json: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lcnnkit-config-\(UUID().uuidString).json")
        try? Data(json.utf8).write(to: url)
        return url
    }

    @Test("the paper's defaults (SPEC T8, B7, T3, T5, T7)")
    func defaults() {
        let c = TrainConfig()
        #expect(c.optimizer == .sgd && c.learningRate == 0.1 && c.momentum == 0.9 && c.weightDecay == 5e-4)
        #expect(c.batchSize == 128 && c.schedule == .multistep && c.method == .standard)
        #expect(c.objective.penalty == .paper && c.objective.penalty.betaWeight == 1e-4 && c.objective.penalty.gammaWeight == 1e-5)
        #expect(c.objective.gradientPenaltyWeight == 1e-3 && c.objective.cureWeight == 1e-3 && c.objective.cureStep == 1)
        #expect(c.objective.adversarialEpsilon == 0.1 && c.objective.adversarialSteps == 3 && c.objective.adversarialStepSize == nil)
    }

    @Test("absent keys keep their defaults")
    func absentKeys() throws {
        let url = Self.write("{}")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try TrainConfig.load(from: url) == TrainConfig())

        let partial = Self.write(#"{"epochs": 7, "method": "lcnn+gradreg", "learningRate": 0.01, "activation": "swish"}"#)
        defer { try? FileManager.default.removeItem(at: partial) }
        var expected = TrainConfig()
        expected.epochs = 7
        expected.method = .lcnnGradreg
        expected.learningRate = 0.01
        expected.activation = .swish
        #expect(try TrainConfig.load(from: partial) == expected)
    }

    @Test("absent keys inside \"objective\" keep their defaults too")
    func absentNestedKeys() throws {
        let url = Self.write(#"{"objective": {"gradientPenaltyWeight": 0.5}}"#)
        defer { try? FileManager.default.removeItem(at: url) }
        var expected = TrainConfig()
        expected.objective.gradientPenaltyWeight = 0.5
        do {
            #expect(try TrainConfig.load(from: url) == expected)
        } catch {
            Issue.record("a partial \"objective\" object was rejected: \(error)")
        }
    }

    @Test("every field round-trips through json() and load(from:)")
    func roundTrip() throws {
        var c = TrainConfig()
        c.dataset = .cifar100
        c.dataDirectory = "/tmp/data"
        c.architecture = .vgg11
        c.method = .cure
        c.activation = .centeredSoftplus
        c.epochs = 3
        c.batchSize = 17
        c.optimizer = .adamw
        c.learningRate = 3e-4
        c.momentum = 0.5
        c.weightDecay = 0
        c.schedule = .cosine
        c.seed = 0xFFFF_FFFF_FFFF
        c.objective = ObjectiveOptions(penalty: .reference)
        c.objective.gradientPenaltyWeight = 0.25
        c.objective.cureWeight = 0.125
        c.objective.cureStep = 0.5
        c.objective.adversarialEpsilon = 0.3
        c.objective.adversarialSteps = 7
        c.objective.adversarialStepSize = 0.02
        c.trainSubset = 100
        c.testSubset = 10
        c.moonsCount = 50
        c.moonsNoise = 0.2
        c.moonsLabelNoise = 0.1
        c.hiddenWidths = [8, 4, 2]
        let url = Self.write(c.json())
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try TrainConfig.load(from: url) == c)
    }

    @Test("unknown enum values and malformed files give an error naming the file",
          arguments: [#"{"method": "nope"}"#, #"{"dataset": "imagenet"}"#, #"{"optimizer": "lbfgs"}"#,
                      #"{"epochs": "ten"}"#, "not json"])
    func badValues(_ json: String) {
        let url = Self.write(json)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try TrainConfig.load(from: url)
            Issue.record("\(json) was accepted")
        } catch let TrainingError.invalidConfiguration(message) {
            #expect(message.contains(url.path), "\(message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a missing file is an error")
    func missingFile() {
        #expect(throws: (any Error).self) { try TrainConfig.load(from: URL(fileURLWithPath: "/nonexistent/lcnn-config.json")) }
    }

    @Test("validate() rejects impossible options with a message")
    func validation() throws {
        try TrainConfig().validate()
        var moons = TrainConfig()
        moons.dataset = .moons
        moons.architecture = .mlp
        try moons.validate()

        let cases: [(String, (inout TrainConfig) -> Void, String)] = [
            ("epochs 0", { $0.epochs = 0 }, "epochs"),
            ("batch 0", { $0.batchSize = 0 }, "batch"),
            ("lr 0", { $0.learningRate = 0 }, "learning rate"),
            ("lr negative", { $0.learningRate = -1 }, "learning rate"),
            ("lr NaN", { $0.learningRate = .nan }, "learning rate"),
            ("weight decay negative", { $0.weightDecay = -1e-4 }, "weight decay"),
            ("moons with smallcnn", { $0.dataset = .moons; $0.architecture = .smallcnn }, "mlp"),
            ("train subset 0", { $0.trainSubset = 0 }, "subset"),
            ("test subset -1", { $0.testSubset = -1 }, "subset"),
        ]
        for (label, change, word) in cases {
            var c = TrainConfig()
            change(&c)
            do {
                try c.validate()
                Issue.record("\(label) passed validation")
            } catch let TrainingError.invalidConfiguration(message) {
                #expect(message.contains(word), "\(label): \(message)")
            } catch {
                Issue.record("\(label): unexpected \(error)")
            }
        }
    }

    @Test("errors describe themselves")
    func errorDescriptions() {
        #expect("\(TrainingError.invalidConfiguration("x"))".contains("invalid configuration: x"))
        #expect("\(TrainingError.checkpoint("y"))".contains("y"))
        let nan = "\(TrainingError.nonFiniteLoss(epoch: 2, step: 4, term: "gradient_penalty", value: .infinity))"
        #expect(nan.contains("gradient_penalty") && nan.contains("epoch 3") && nan.contains("step 5") && nan.contains("inf"))
    }
}
