import ArgumentParser
import Foundation
import LCNNKit
import NN
import Testing
@testable import lcnn

/// `lcnn train`'s options (SPEC §9) and the configuration they describe.
@Suite("lcnn train options")
struct TrainCommandTests {
    static func config(_ arguments: [String]) throws -> TrainConfig {
        try TrainCommand.parse(arguments).makeConfig()
    }

    @Test("method, activation, optimiser and loop options")
    func basicOptions() throws {
        let c = try Self.config(["--dataset", "moons", "--method", "lcnn+gradreg", "--activation", "swish",
                                 "--lr", "0.003", "--batch-size", "64", "--epochs", "4", "--optimizer", "adam",
                                 "--weight-decay", "0", "--momentum", "0.5", "--schedule", "cosine", "--seed", "42",
                                 "--gradreg-weight", "0.2", "--cure-weight", "0.3", "--cure-step", "0.5",
                                 "--adv-epsilon", "0.25", "--adv-steps", "5", "--adv-step-size", "0.05",
                                 "--moons-count", "300", "--moons-noise", "0.2", "--label-noise", "0.1",
                                 "--train-subset", "100", "--test-subset", "50", "--data", "/tmp/d"])
        #expect(c.method == .lcnnGradreg)
        #expect(c.activation == .swish)
        #expect(c.learningRate == 0.003 && c.batchSize == 64 && c.epochs == 4 && c.optimizer == .adam)
        #expect(c.weightDecay == 0 && c.momentum == 0.5 && c.schedule == .cosine && c.seed == 42)
        #expect(c.objective.gradientPenaltyWeight == 0.2 && c.objective.cureWeight == 0.3 && c.objective.cureStep == 0.5)
        #expect(c.objective.adversarialEpsilon == 0.25 && c.objective.adversarialSteps == 5 && c.objective.adversarialStepSize == 0.05)
        #expect(c.moonsCount == 300 && c.moonsNoise == 0.2 && c.moonsLabelNoise == 0.1)
        #expect(c.trainSubset == 100 && c.testSubset == 50 && c.dataDirectory == "/tmp/d")
        #expect(c.dataset == .moons && c.architecture == .mlp)
    }

    @Test("every method name of SPEC §9 parses", arguments: ["standard", "lcnn", "gradreg", "lcnn+gradreg", "cure", "softplus-wd", "adversarial"])
    func methodNames(_ name: String) throws {
        #expect(try Self.config(["--method", name]).method.rawValue == name)
    }

    @Test("activation names of SPEC §9 parse", arguments: ["softplus", "centered-softplus", "swish"])
    func activationNames(_ name: String) throws {
        #expect(try Self.config(["--activation", name]).activation?.rawValue == name)
    }

    @Test("no options: the defaults (Fashion-MNIST, SmallCNN, Standard)")
    func noOptions() throws {
        #expect(try Self.config([]) == TrainConfig())
        #expect(try Self.config(["--method", "softplus-wd"]).method == .softplusWD)
    }

    @Test("the dataset picks the default model", arguments: [
        ("moons", Architecture.mlp), ("mnist", .smallcnn), ("fashion-mnist", .smallcnn), ("cifar10", .resnet18), ("cifar100", .resnet18),
    ])
    func datasetDefaultModel(_ dataset: String, _ model: Architecture) throws {
        let c = try Self.config(["--dataset", dataset])
        #expect(c.dataset.rawValue == dataset)
        #expect(c.architecture == model)
    }

    @Test("an explicit --model wins over the dataset's default")
    func explicitModel() throws {
        #expect(try Self.config(["--dataset", "cifar10", "--model", "vgg11"]).architecture == .vgg11)
        #expect(try Self.config(["--model", "resnet34", "--dataset", "cifar100"]).architecture == .resnet34)
    }

    @Test("--penalty-form reference switches the weights to 1e-2/1e-2; explicit weights win")
    func penaltyForm() throws {
        let r = try Self.config(["--penalty-form", "reference"]).objective.penalty
        #expect(r == .reference && r.form == .reference && r.betaWeight == 1e-2 && r.gammaWeight == 1e-2)
        let p = try Self.config(["--penalty-form", "paper"]).objective.penalty
        #expect(p == .paper)
        let custom = try Self.config(["--penalty-form", "reference", "--beta-penalty", "0.5", "--gamma-penalty", "0.25"]).objective.penalty
        #expect(custom == LCNNPenalty(form: .reference, betaWeight: 0.5, gammaWeight: 0.25))
        let paperCustom = try Self.config(["--beta-penalty", "0.001"]).objective.penalty
        #expect(paperCustom == LCNNPenalty(form: .paper, betaWeight: 0.001, gammaWeight: 1e-5))
    }

    @Test("--config file.json: its values apply, command-line options win")
    func configFile() throws {
        var file = TrainConfig()
        file.dataset = .moons
        file.architecture = .mlp
        file.method = .gradreg
        file.epochs = 7
        file.learningRate = 0.05
        file.hiddenWidths = [8]
        file.objective.gradientPenaltyWeight = 0.4
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-cli-\(UUID().uuidString).json")
        try Data(file.json().utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }

        #expect(try Self.config(["--config", url.path]) == file)
        let c = try Self.config(["--config", url.path, "--epochs", "3", "--method", "cure", "--gradreg-weight", "0.1"])
        var expected = file
        expected.epochs = 3
        expected.method = .cure
        expected.objective.gradientPenaltyWeight = 0.1
        #expect(c == expected)

        // A file's architecture is not replaced by the dataset's default.
        var cnn = TrainConfig()
        cnn.architecture = .vgg11
        try Data(cnn.json().utf8).write(to: url)
        #expect(try Self.config(["--config", url.path, "--dataset", "cifar10"]).architecture == .vgg11)
    }

    @Test("invalid values fail with a message naming them", arguments: [
        ["--method", "nope"], ["--dataset", "imagenet"], ["--activation", "tanh"], ["--model", "resnet50"],
        ["--optimizer", "lbfgs"], ["--epochs", "many"], ["--lr", "fast"], ["--penalty-form", "other"],
    ])
    func invalidValues(_ arguments: [String]) {
        do {
            _ = try TrainCommand.parse(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            let message = TrainCommand.message(for: error)
            #expect(message.contains(arguments[1]), "\(arguments): \(message)")
        }
    }

    @Test("impossible combinations are refused by makeConfig()", arguments: [
        ["--epochs", "0"], ["--batch-size", "0"], ["--lr=-1"], ["--lr", "0"], ["--weight-decay=-0.1"],
        ["--dataset", "moons", "--model", "smallcnn"], ["--train-subset", "0"],
    ])
    func invalidCombinations(_ arguments: [String]) throws {
        let command = try TrainCommand.parse(arguments)
        #expect(throws: TrainingError.self) { try command.makeConfig() }
    }

    @Test("--config with a bad file names the file")
    func badConfigFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-cli-bad-\(UUID().uuidString).json")
        try Data(#"{"method": "nope"}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let command = try TrainCommand.parse(["--config", url.path])
        #expect { try command.makeConfig() } throws: { "\($0)".contains(url.path) }
    }

    @Test("lcnn has the train and bench subcommands")
    func subcommands() throws {
        let names = LCNNCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" }
        #expect(names.contains("train") && names.contains("bench"), "\(names)")
        let parsed = try LCNNCommand.parseAsRoot(["train", "--dataset", "moons", "--epochs", "2", "--out", "/tmp/x", "--resume", "--no-progress"])
        let train = try #require(parsed as? TrainCommand)
        #expect(train.out == "/tmp/x" && train.resume && train.noProgress)
        #expect(try train.makeConfig().epochs == 2)
        #expect(try LCNNCommand.parseAsRoot(["bench", "kernels", "--filter", "sgemm"]) is BenchCommand.Kernels)
        #expect(try LCNNCommand.parseAsRoot(["bench", "train"]) is BenchCommand.Train)
    }

    /// A stored run's config.json (two moons, lr 0.05, seed 3, 4 epochs) in a fresh directory.
    static func storedRun() throws -> URL {
        var c = TrainConfig()
        c.dataset = .moons
        c.architecture = .mlp
        c.learningRate = 0.05
        c.seed = 3
        c.epochs = 4
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-resume-\(UUID().uuidString).json")
        try Data(c.json().utf8).write(to: url)
        return url
    }

    @Test("--resume keeps the stored run and applies --epochs and --data")
    func resumeExtendsTheStoredRun() throws {
        let stored = try Self.storedRun()
        defer { try? FileManager.default.removeItem(at: stored) }
        let c = try TrainCommand.parse(["--resume", "--out", "/tmp/x", "--epochs", "9", "--data", "/elsewhere"])
            .resumedConfig(stored: stored)
        #expect(c.epochs == 9 && c.dataDirectory == "/elsewhere")
        #expect(c.learningRate == 0.05 && c.seed == 3 && c.dataset == .moons && c.architecture == .mlp)
        // Restating a stored value is fine.
        let same = try TrainCommand.parse(["--resume", "--lr", "0.05", "--dataset", "moons"]).resumedConfig(stored: stored)
        #expect(same.learningRate == 0.05 && same.epochs == 4)
    }

    @Test("--resume refuses options that change the stored run, naming each setting")
    func resumeRefusesChanges() throws {
        let stored = try Self.storedRun()
        defer { try? FileManager.default.removeItem(at: stored) }
        let command = try TrainCommand.parse(["--resume", "--lr", "0.1", "--seed", "4", "--beta-penalty", "0.5"])
        #expect {
            try command.resumedConfig(stored: stored)
        } throws: { error in
            let text = "\(error)"
            return text.contains("learningRate (stored 0.05, requested 0.1)") && text.contains("seed (stored 3, requested 4)")
                && text.contains("objective.penalty.betaWeight") && text.contains(stored.path)
        }
        let differences = try TrainConfig.differences(TrainConfig(), TrainConfig())
        #expect(differences.isEmpty)
    }
}
