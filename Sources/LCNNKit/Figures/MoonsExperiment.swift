import Datasets
import Foundation
import NN
import TensorCore

/// The two-moons experiment of the paper's Figure 1a/b (SPEC V1): a Standard network and an
/// LCNN trained on the same points, once with clean labels and once with a fraction of them
/// flipped. With noisy labels the Standard network bends its boundary around the flipped points;
/// the LCNN, whose curvature is bounded by its β and γ (paper §3), keeps a smooth one.
///
/// The defaults give a network with enough capacity to memorise label noise (three hidden layers
/// of 128, Adam at 3·10⁻³ with a constant rate, 600 epochs on 300 points); each run takes a few
/// seconds in a release build.
public struct MoonsExperiment: Sendable, Codable, Equatable {
    /// One trained model of the experiment.
    public struct Run: Sendable, Equatable {
        /// Directory name of the run, e.g. `standard` or `lcnn-label-noise`.
        public var name: String
        public var method: TrainingMethod
        /// Fraction of flipped training labels.
        public var labelNoise: Float
        /// The configuration `lcnn train` would use for this run.
        public var config: TrainConfig
    }

    public var methods: [TrainingMethod] = [.standard, .lcnn]
    /// Flipped-label fractions, one row of the figure each (0 = clean labels).
    public var labelNoises: [Float] = [0, 0.2]
    public var epochs = 600
    public var count = 300
    public var noise: Float = 0.15
    public var hiddenWidths = [128, 128, 128]
    public var learningRate: Float = 3e-3
    public var seed: UInt64 = 0

    public init() {}

    /// Every run, row by row (label noise) and method by method.
    public var runs: [Run] {
        labelNoises.flatMap { labelNoise in
            methods.map { method in
                var c = TrainConfig()
                c.dataset = .moons
                c.architecture = .mlp
                c.method = method
                c.hiddenWidths = hiddenWidths
                c.epochs = epochs
                c.optimizer = .adam
                c.learningRate = learningRate
                c.weightDecay = method == .softplusWD ? c.weightDecay : 0
                c.schedule = .constant
                c.moonsCount = count
                c.moonsNoise = noise
                c.moonsLabelNoise = labelNoise
                c.seed = seed
                let name = method.rawValue + (labelNoise > 0 ? "-label-noise" : "")
                return Run(name: name, method: method, labelNoise: labelNoise, config: c)
            }
        }
    }

    /// A run after training: where its checkpoint is, the data it saw and how well it does.
    public struct TrainedRun {
        public let run: Run
        public let checkpoint: URL
        public let model: any Layer
        public let train: Dataset
        public let test: Dataset
        public let trainAccuracy: Double
        public let testAccuracy: Double
    }

    /// Trains every run into `directory/<run name>/` (an `lcnn train` output directory each).
    /// `progress` is told when a run starts and ends.
    public func train(into directory: URL, progress: ((Run, TrainedRun?) -> Void)? = nil) throws -> [TrainedRun] {
        try runs.map { run in
            progress?(run, nil)
            let data = try DatasetName.moons.load(directory: nil, seed: run.config.seed, moonsCount: run.config.moonsCount,
                                                  moonsNoise: run.config.moonsNoise, moonsLabelNoise: run.config.moonsLabelNoise)
            let dir = directory.appendingPathComponent(run.name)
            let trainer = try Trainer(config: run.config, train: data.train, test: data.test, outputDirectory: dir)
            let history = try trainer.run()
            let trained = TrainedRun(run: run, checkpoint: dir.appendingPathComponent(Trainer.lastCheckpointName),
                                     model: trainer.model, train: data.train, test: data.test,
                                     trainAccuracy: history.last?.trainAccuracy ?? 0,
                                     testAccuracy: history.last?.testAccuracy ?? 0)
            progress?(run, trained)
            return trained
        }
    }
}
