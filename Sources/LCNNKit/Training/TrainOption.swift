/// The options of `lcnn train`, named once: the CLI declares each `@Option`/`@Flag` with
/// `.customLong(TrainOption.x.name)`, and ``TrainConfig/commandLineArguments()`` renders a
/// configuration with ``TrainOption/flag``, so the two cannot drift apart.
public enum TrainOption: String, CaseIterable, Sendable {
    case config, dataset, data, model, method, activation, pooling
    case epochs, batchSize = "batch-size", optimizer, learningRate = "lr", momentum
    case weightDecay = "weight-decay", schedule, seed
    case penaltyForm = "penalty-form", betaPenalty = "beta-penalty", gammaPenalty = "gamma-penalty"
    case gradregWeight = "gradreg-weight", cureWeight = "cure-weight", cureStep = "cure-step"
    case advEpsilon = "adv-epsilon", advSteps = "adv-steps", advStepSize = "adv-step-size"
    case trainSubset = "train-subset", testSubset = "test-subset"
    case moonsCount = "moons-count", moonsNoise = "moons-noise", labelNoise = "label-noise"
    case out, resume, noProgress = "no-progress", distributed

    /// The long name without dashes, e.g. `batch-size`.
    public var name: String { rawValue }

    /// The option as written on a command line, e.g. `--batch-size`.
    public var flag: String { "--" + rawValue }
}
