import ArgumentParser
import Foundation
import LCNNKit
import NN
import Testing
@testable import lcnn

/// `lcnn reproduce`'s options, and the `lcnn train` command lines its report prints.
@Suite("lcnn reproduce")
struct ReproduceCommandTests {
    static var plans: [ReproductionPlan] {
        var custom = ReproductionPlan.small(dataset: .mnist, dataDirectory: "data dir/mnist", seed: 9)
        custom = custom.mapConfigs {
            $0.objective.penalty = .reference
            $0.objective.penalty.betaWeight = 0.003
            $0.objective.adversarialStepSize = 0.02
            $0.objective.cureStep = 0.5
            $0.optimizer = .adam
            $0.learningRate = 1e-4
            $0.testSubset = nil
            $0.pooling = .max
        }
        return DatasetName.allCases.flatMap { [ReproductionPlan.small(dataset: $0), .standardSize(dataset: $0), .full(dataset: $0, seed: 3)] } + [custom]
    }

    @Test("each run's rendered `lcnn train` command line parses back to the same configuration")
    func trainCommandRoundTrip() throws {
        for plan in Self.plans {
            for run in plan.runs {
                let parsed = try TrainCommand.parse(run.config.commandLineArguments()).makeConfig()
                #expect(parsed == run.config, "\(plan.dataset.rawValue) \(plan.size.rawValue) \(run.name)")
            }
        }
    }

    @Test("the printed command (with quoting and --out) is the same option list")
    func printedCommand() throws {
        let config = Self.plans.last!.runs[7].config
        let command = config.trainCommand(out: "runs/r/runs/lcnn-swish")
        #expect(command.hasPrefix("lcnn train --dataset mnist --data 'data dir/mnist' --model smallcnn --method lcnn --activation swish"))
        let words = Array(command.split(separator: " ").map(String.init).dropFirst(2))
        // Re-join the one quoted word for this check.
        let unquoted = words.joined(separator: " ").replacingOccurrences(of: "'data dir/mnist'", with: "DATA")
            .split(separator: " ").map { $0 == "DATA" ? "data dir/mnist" : String($0) }
        let parsed = try TrainCommand.parse(unquoted).makeConfig()
        #expect(parsed == config)
    }

    @Test("defaults: the default size on Fashion-MNIST, all eight runs, calibrated weights and ε, runs/reproduce")
    func defaults() throws {
        let command = try ReproduceCommand.parse([])
        #expect(command.out == "runs/reproduce")
        let plan = try command.makePlan()
        #expect(plan == ReproductionPlan.standardSize())
        #expect(plan.size == .default && plan.seeds == 1 && plan.calibration != nil && plan.evaluation.calibrateEpsilons)
        #expect(plan.evaluation.samples >= 1000 && plan.runs.allSatisfy { $0.config.trainSubset == nil })
        #expect(try ReproduceCommand.parse(["--small"]).makePlan() == ReproductionPlan.small())
        #expect(throws: (any Error).self) { try ReproduceCommand.parse(["--small", "--full"]).makePlan() }
    }

    @Test("--seeds replicates every run; --epsilons turns the ε calibration off; explicit weights are not calibrated")
    func protocolOptions() throws {
        let plan = try ReproduceCommand.parse(["--seeds", "2", "--only", "standard,lcnn,gradreg", "--epsilons", "0.2,0.4",
                                               "--fgsm-epsilons", "0.01", "--gradreg-weight", "0.5", "--tolerance", "2"]).makePlan()
        #expect(plan.runs.map(\.name) == ["standard", "standard-seed1", "lcnn", "lcnn-seed1", "gradreg", "gradreg-seed1"])
        #expect(plan.runs.map(\.config.seed) == [0, 1, 0, 1, 0, 1])
        #expect(plan.runs.map(\.group) == ["standard", "standard", "lcnn", "lcnn", "gradreg", "gradreg"])
        #expect(plan.evaluation.epsilons == [0.2, 0.4] && plan.evaluation.fgsmEpsilons == [0.01] && !plan.evaluation.calibrateEpsilons)
        #expect(plan.calibratedWeights == [.lcnn])
        #expect(plan.calibration?.tolerance == 0.02)
        #expect(plan.runs.filter { $0.group == "gradreg" }.allSatisfy { $0.config.objective.gradientPenaltyWeight == 0.5 })
        let paper = try ReproduceCommand.parse(["--no-calibration"]).makePlan()
        #expect(paper.calibration == nil && paper.calibratedWeights.isEmpty)
        #expect(throws: (any Error).self) { try ReproduceCommand.parse(["--seeds", "0"]).makePlan() }
        #expect(throws: (any Error).self) { try ReproduceCommand.parse(["--epsilons", "0.1,x"]).makePlan() }
    }

    @Test("--full, --only, --epochs, --train-subset, --samples, --seed, --data")
    func overrides() throws {
        let plan = try ReproduceCommand.parse(["--dataset", "cifar10", "--data", "c10", "--full", "--only", "standard, lcnn",
                                               "--epochs", "3", "--train-subset", "500", "--samples", "50", "--seed", "4"]).makePlan()
        #expect(plan.runs.map(\.name) == ["standard", "lcnn"])
        #expect(plan.runs.allSatisfy { $0.config.epochs == 3 && $0.config.trainSubset == 500 && $0.config.seed == 4
            && $0.config.dataDirectory == "c10" && $0.config.architecture == .resnet18 })
        #expect(plan.evaluation.samples == 50 && plan.size == .custom)
        #expect(throws: (any Error).self) { try ReproduceCommand.parse(["--only", "standard,bogus"]).makePlan() }
        #expect(throws: (any Error).self) { try ReproduceCommand.parse(["--epochs", "0"]).makePlan() }
    }

    @Test("missing dataset files: the error names the file and says how to get the data")
    func missingData() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-repro-nodata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-repro-out-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: empty)
            try? FileManager.default.removeItem(at: out)
        }
        let command = try ReproduceCommand.parse(["--data", empty.path, "--out", out.path, "--only", "standard"])
        do {
            try command.run()
            Issue.record("expected an error")
        } catch {
            let message = "\(error)"
            #expect(message.contains("train-images-idx3-ubyte"))
            #expect(message.contains("install dataset-fashion-mnist"))
            #expect(message.contains("--data DIR"))
        }
    }
}
