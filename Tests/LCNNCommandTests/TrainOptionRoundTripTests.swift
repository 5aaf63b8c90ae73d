import ArgumentParser
import LCNNKit
import NN
import Testing
@testable import lcnn

/// `TrainOption` names every `lcnn train` flag once: the command line a `TrainConfig` renders
/// (`commandLineArguments()`) parses back with the CLI's own parser to the same configuration.
@Suite("lcnn train options, named once")
struct TrainOptionRoundTripTests {
    /// Configurations with many non-default values (every rendered option at least once).
    static let configs: [TrainConfig] = {
        var a = TrainConfig()
        a.dataset = .cifar10
        a.dataDirectory = "data dir/cifar"
        a.architecture = .vgg11
        a.method = .lcnnGradreg
        a.activation = .swish
        a.pooling = .max
        a.epochs = 7
        a.batchSize = 64
        a.optimizer = .adamw
        a.learningRate = 0.003
        a.momentum = 0.8
        a.weightDecay = 1e-4
        a.schedule = .cosine
        a.seed = 42
        a.objective.gradientPenaltyWeight = 0.02
        a.objective.penalty.betaWeight = 3e-4
        a.objective.penalty.gammaWeight = 2e-5
        a.trainSubset = 500
        a.testSubset = 100

        var b = TrainConfig()
        b.dataset = .moons
        b.architecture = .mlp
        b.method = .adversarial
        b.objective.penalty = .reference
        b.objective.penalty.gammaWeight = 0.05
        b.objective.adversarialEpsilon = 0.3
        b.objective.adversarialSteps = 5
        b.objective.adversarialStepSize = 0.07
        b.objective.cureWeight = 0.002
        b.objective.cureStep = 0.5
        b.moonsCount = 400
        b.moonsNoise = 0.2
        b.moonsLabelNoise = 0.1
        b.optimizer = .adam
        b.schedule = .constant
        return [a, b]
    }()

    @Test("a rendered command line parses back to the same configuration")
    func roundTrip() throws {
        for config in Self.configs {
            try config.validate()
            let arguments = config.commandLineArguments()
            let parsed = try TrainCommand.parse(arguments).makeConfig()
            #expect(parsed == config, "\(arguments)")
        }
    }

    @Test("every TrainOption is an option of lcnn train")
    func everyOptionIsParsed() {
        let help = TrainCommand.helpMessage(columns: 10_000)
        for option in TrainOption.allCases { #expect(help.contains(option.flag + " ") || help.contains(option.flag + "\n"), "\(option.flag)") }
    }
}
