import ArgumentParser
import Datasets
import Foundation
import LCNNKit
import NN

extension DatasetName: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension TrainingMethod: ExpressibleByArgument {}
extension ActivationKind: ExpressibleByArgument {}
extension TrainConfig.OptimizerKind: ExpressibleByArgument {}
extension TrainConfig.ScheduleKind: ExpressibleByArgument {}
extension LCNNPenalty.Form: ExpressibleByArgument {}
extension PoolingKind: ExpressibleByArgument {}

/// `lcnn train`: trains one model by one method and writes checkpoints and metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model by one of the paper's methods (Standard, LCNN, GradReg, …).",
        discussion: """
            Writes to --out: config.json, metrics.jsonl (one JSON object per epoch), last.safetensors \
            (weights + optimiser state, rewritten atomically every epoch) and best.safetensors. \
            --resume continues an interrupted run from last.safetensors with identical results; it \
            keeps the run's stored config.json, taking only --epochs (to extend it) and --data, and \
            refuses other options that would change it. Options given on the command line override \
            those of --config.
            Example: lcnn train --dataset fashion-mnist --model smallcnn --method lcnn+gradreg --epochs 10 --out runs/x
            """)

    @Option(name: .customLong(TrainOption.config.name), help: "A JSON file with any of the configuration keys (see config.json of a run).")
    var config: String?

    @Option(name: .customLong(TrainOption.dataset.name), help: "moons, mnist, fashion-mnist, cifar10 or cifar100.")
    var dataset: DatasetName?
    @Option(name: .customLong(TrainOption.data.name), help: "Directory holding the dataset files (default for fashion-mnist: /usr/share/datasets/fashion-mnist).")
    var data: String?
    @Option(name: .customLong(TrainOption.model.name), help: "mlp, smallcnn, resnet18, resnet34 or vgg11 (default: mlp for moons, smallcnn for (fashion-)MNIST, resnet18 for CIFAR).")
    var model: Architecture?
    @Option(name: .customLong(TrainOption.method.name), help: "standard, lcnn, gradreg, lcnn+gradreg, cure, softplus-wd or adversarial.")
    var method: TrainingMethod?
    @Option(name: .customLong(TrainOption.activation.name), help: "Override the method's activation: softplus, centered-softplus, swish or relu.")
    var activation: ActivationKind?
    @Option(name: .customLong(TrainOption.pooling.name), help: "SmallCNN/VGG pooling: average (default; its curvature is bounded) or max (the max-pool of the MNIST reproduction, for comparison).")
    var pooling: PoolingKind?

    @Option(name: .customLong(TrainOption.epochs.name), help: "Number of epochs.") var epochs: Int?
    @Option(name: .customLong(TrainOption.batchSize.name), help: "Mini-batch size.") var batchSize: Int?
    @Option(name: .customLong(TrainOption.optimizer.name), help: "sgd, adam or adamw.") var optimizer: TrainConfig.OptimizerKind?
    @Option(name: .customLong(TrainOption.learningRate.name), help: "Initial learning rate.") var learningRate: Float?
    @Option(name: .customLong(TrainOption.momentum.name), help: "SGD momentum.") var momentum: Float?
    @Option(name: .customLong(TrainOption.weightDecay.name), help: "Weight decay (not applied to log β and log γ).") var weightDecay: Float?
    @Option(name: .customLong(TrainOption.schedule.name), help: "multistep (×0.1 at 75% and 87.5% of the epochs, rounded down but never at epoch 0: a 1-epoch run keeps the learning rate, 2–4 epochs end with one epoch at ×0.01), cosine or constant.") var schedule: TrainConfig.ScheduleKind?
    @Option(name: .customLong(TrainOption.seed.name), help: "Seed of the initialisation, the data order, dropout and attacks.") var seed: UInt64?

    @Option(name: .customLong(TrainOption.penaltyForm.name), help: "LCNN penalty form: paper (λβ Σ log β + λγ Σ log γ) or reference (λβ Σ β + λγ Σ |log γ|).")
    var penaltyForm: LCNNPenalty.Form?
    @Option(name: .customLong(TrainOption.betaPenalty.name), help: "λβ of the LCNN penalty (paper: 1e-4; reference form: 1e-2).") var betaPenalty: Float?
    @Option(name: .customLong(TrainOption.gammaPenalty.name), help: "λγ of the LCNN penalty (paper: 1e-5; reference form: 1e-2).") var gammaPenalty: Float?
    @Option(name: .customLong(TrainOption.gradregWeight.name), help: "λg of GradReg: λg·mean ‖∇ₓℓ‖² (default 1e-3).") var gradregWeight: Float?
    @Option(name: .customLong(TrainOption.cureWeight.name), help: "λ of CURE (default 1e-3).") var cureWeight: Float?
    @Option(name: .customLong(TrainOption.cureStep.name), help: "h of CURE (default 1).") var cureStep: Float?
    @Option(name: .customLong(TrainOption.advEpsilon.name), help: "ε of adversarial training's ℓ2 PGD (default 0.1).") var advEpsilon: Float?
    @Option(name: .customLong(TrainOption.advSteps.name), help: "Steps of adversarial training's PGD (default 3).") var advSteps: Int?
    @Option(name: .customLong(TrainOption.advStepSize.name), help: "Step size of that PGD (default 2.5·ε/steps).") var advStepSize: Float?

    @Option(name: .customLong(TrainOption.trainSubset.name), help: "Use only the first N training samples.") var trainSubset: Int?
    @Option(name: .customLong(TrainOption.testSubset.name), help: "Use only the first N test samples.") var testSubset: Int?
    @Option(name: .customLong(TrainOption.moonsCount.name), help: "Two moons: number of training points (default 1000).") var moonsCount: Int?
    @Option(name: .customLong(TrainOption.moonsNoise.name), help: "Two moons: noise std (default 0.1).") var moonsNoise: Float?
    @Option(name: .customLong(TrainOption.labelNoise.name), help: "Two moons: fraction of flipped training labels (default 0).") var labelNoise: Float?

    @Option(name: .customLong(TrainOption.out.name), help: "Output directory for checkpoints and metrics.") var out: String?
    @Flag(name: .customLong(TrainOption.resume.name), help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Flag(name: .customLong(TrainOption.noProgress.name), help: "Plain per-epoch lines even on a terminal.") var noProgress = false
    @Flag(name: .customLong(TrainOption.distributed.name), help: DistributedLaunch.help) var distributed = false

    /// The configuration these options describe (on top of --config, if given).
    func makeConfig() throws -> TrainConfig {
        var c = try config.map { try TrainConfig.load(from: URL(fileURLWithPath: $0), validate: false) } ?? TrainConfig()
        if let dataset, model == nil, config == nil {
            c.architecture = Architecture(rawValue: dataset.defaultArchitecture) ?? c.architecture
        }
        try applyOptions(to: &c)
        return c
    }

    /// The configuration of a resumed run: the one stored in `stored` (the run's config.json),
    /// with --epochs (to extend the run) and --data (where the data lives now) applied. Any other
    /// option given (or a --config file) must agree with the stored run: changing the method,
    /// learning rate, seed, … of a run half-way would silently break its reproducibility, so it
    /// is refused with the differing settings named.
    func resumedConfig(stored: URL) throws -> TrainConfig {
        let run = try TrainConfig.load(from: stored)
        var requested = try config.map { try TrainConfig.load(from: URL(fileURLWithPath: $0), validate: false) } ?? run
        try applyOptions(to: &requested)
        var comparable = requested
        comparable.epochs = run.epochs
        comparable.dataDirectory = run.dataDirectory
        let differences = try TrainConfig.differences(run, comparable)
        guard differences.isEmpty else {
            throw ValidationError(
                "--resume continues the run stored in \(stored.path), but the options change "
                + differences.map { "\($0.key) (stored \($0.stored), requested \($0.requested))" }.joined(separator: ", ")
                + ". Only --epochs and --data may differ on resume; start a new run in another --out to change the rest.")
        }
        return requested
    }

    /// Writes the options given on the command line into `c` (those not given leave it as is).
    func applyOptions(to c: inout TrainConfig) throws {
        if let dataset { c.dataset = dataset }
        if let data { c.dataDirectory = data }
        if let model { c.architecture = model }
        if let method { c.method = method }
        if let activation { c.activation = activation }
        if let pooling { c.pooling = pooling }
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSize = batchSize }
        if let optimizer { c.optimizer = optimizer }
        if let learningRate { c.learningRate = learningRate }
        if let momentum { c.momentum = momentum }
        if let weightDecay { c.weightDecay = weightDecay }
        if let schedule { c.schedule = schedule }
        if let seed { c.seed = seed }
        if let penaltyForm {
            c.objective.penalty = penaltyForm == .paper ? .paper : .reference
        }
        if let betaPenalty { c.objective.penalty.betaWeight = betaPenalty }
        if let gammaPenalty { c.objective.penalty.gammaWeight = gammaPenalty }
        if let gradregWeight { c.objective.gradientPenaltyWeight = gradregWeight }
        if let cureWeight { c.objective.cureWeight = cureWeight }
        if let cureStep { c.objective.cureStep = cureStep }
        if let advEpsilon { c.objective.adversarialEpsilon = advEpsilon }
        if let advSteps { c.objective.adversarialSteps = advSteps }
        if let advStepSize { c.objective.adversarialStepSize = advStepSize }
        if let trainSubset { c.trainSubset = trainSubset }
        if let testSubset { c.testSubset = testSubset }
        if let moonsCount { c.moonsCount = moonsCount }
        if let moonsNoise { c.moonsNoise = moonsNoise }
        if let labelNoise { c.moonsLabelNoise = labelNoise }
        try c.validate()
    }

    func run() throws {
        // Errors propagate: ArgumentParser prints their description and exits with status 1.
        let communicator = try DistributedLaunch.communicator(distributed)
        try DistributedLaunch.run(communicator, command: "lcnn train") {
            var c = try makeConfig()
            let outURL = out.map { URL(fileURLWithPath: $0) }
            if resume {
                guard let outURL else { throw ValidationError("--resume needs --out DIR") }
                // The run's own configuration is authoritative; only --epochs and --data may change.
                let stored = outURL.appendingPathComponent("config.json")
                if FileManager.default.fileExists(atPath: stored.path) { c = try resumedConfig(stored: stored) }
            }
            let (train, test) = try c.dataset.load(directory: c.dataDirectory, seed: c.seed, moonsCount: c.moonsCount,
                                                   moonsNoise: c.moonsNoise, moonsLabelNoise: c.moonsLabelNoise)
            let trainer = try Trainer(config: c, train: train, test: test, outputDirectory: outURL)
            trainer.communicator = communicator
            if resume {
                try trainer.resume()
                for warning in trainer.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            }
            guard communicator.isRoot else { _ = try trainer.run(); return }   // rank 0 speaks for the job
            trainer.progress = TrainingProgress(totalEpochs: c.epochs, isTerminal: noProgress ? false : nil)
            print("training \(c.architecture.rawValue) (\(trainer.modelConfig.lcnn ? "LCNN" : "standard") form, "
                  + "\(trainer.model.parameterCount) parameters) by \(c.method.rawValue) on \(train.name) "
                  + "(\(trainer.train.count) train / \(trainer.test.count) test)"
                  + (trainer.nextEpoch > 0 ? ", resuming at epoch \(trainer.nextEpoch + 1)" : "")
                  + (communicator.size > 1 ? ", data-parallel over \(communicator.size) processes" : ""))
            try trainer.run()
            if let outURL { print("checkpoints and metrics in \(outURL.path)") }
        }
    }
}
