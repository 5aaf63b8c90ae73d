import ArgumentParser
import Datasets
import Foundation
import LCNNKit

/// `lcnn plot …`: the paper's and the curvature study's figures from trained checkpoints.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw figures (SVG and PNG): activations, gradient robustness, boundary near an input, regions, class paths.",
        subcommands: [Activations.self, Robustness.self, Boundary.self, Regions.self, Path.self])

    /// Options every figure from checkpoints takes.
    struct Checkpoints: ParsableArguments {
        @Option(help: "A checkpoint written by `lcnn train` (repeat for several models).") var checkpoint: [String] = []
        @Option(help: "The dataset (default: the one the first checkpoint was trained on).") var dataset: DatasetName?
        @Option(help: "Directory holding the dataset files.") var data: String?
        @Option(help: "Seed of the random directions.") var seed: UInt64 = 0
        @Option(help: "Output directory of the figure.") var out = "figures"

        /// The models, the test split and the class names.
        func load() throws -> (models: [FigureSuite.NamedModel], test: Dataset, classNames: [String]?) {
            guard !checkpoint.isEmpty else { throw ValidationError("give at least one --checkpoint FILE") }
            let checkpoints = try checkpoint.map { try CheckpointModel(url: URL(fileURLWithPath: $0)) }
            let name = dataset ?? checkpoints[0].trainConfig?.dataset ?? .fashionMNIST
            let (_, test) = try checkpoints[0].loadData(dataset: dataset, data: data)
            for c in checkpoints { try c.checkInput(sampleShape: test.sampleShape, dataset: test.name) }
            return (FigureSuite.named(checkpoints), test, name.classNames)
        }

        var directory: URL { URL(fileURLWithPath: out) }
    }

    /// Prints where a figure went and what it shows.
    static func report(_ figure: FigureRecord) {
        print(figure.title)
        figure.findings.forEach { print("  " + $0) }
        print("figure: \(figure.svg), \(figure.png)")
    }

    struct Activations: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "activations", abstract: "Softplus vs centered softplus (and parametric swish) for several β (Figure 1c).",
            discussion: "Example: lcnn plot activations --betas 0.5,1,2,5,20 --out figures")
        @Option(help: "Comma-separated β values.") var betas = "0.5,1,2,5,20"
        @Option(help: "Output directory of the figure.") var out = "figures"
        func run() throws {
            let values = try EvalCommand.parseEpsilons(betas)
            guard values.allSatisfy({ $0 > 0 }) else { throw ValidationError("--betas must be positive") }
            report(try ActivationFigure.render(betas: values, into: URL(fileURLWithPath: out)))
        }
    }

    struct Robustness: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "robustness", abstract: "Gradient robustness under noise with theory lines (Figure 2).",
            discussion: "Example: lcnn plot robustness --checkpoint runs/std/best.safetensors --checkpoint runs/lcnn/best.safetensors --out figures")
        @OptionGroup var checkpoints: Checkpoints
        @Option(help: "Test samples measured.") var samples = 100
        @Option(help: "Noise levels, log-spaced from 1e-3 to 1e-1.") var levels = 7
        func run() throws {
            guard samples > 0, levels > 1 else { throw ValidationError("--samples must be positive and --levels at least 2") }
            let (models, test, _) = try checkpoints.load()
            var suite = FigureSuite()
            suite.samples = samples
            suite.levels = levels
            suite.seed = checkpoints.seed
            report(try suite.robustness(models, test: test, into: checkpoints.directory))
        }
    }

    /// Options of the figures drawn around one test input.
    struct Around: ParsableArguments {
        @Option(help: "Index of the test input.") var index = 0
        @Option(help: "Half-width of the window in input units (default: chosen from the distance to the boundary).") var radius: Float?
        @Option(help: "Grid cells per side.") var resolution = 121
        func suite(seed: UInt64) throws -> FigureSuite {
            guard resolution >= 8, index >= 0, radius.map({ $0 > 0 }) ?? true else {
                throw ValidationError("--resolution must be at least 8, --index non-negative and --radius positive")
            }
            var suite = FigureSuite()
            suite.inputIndex = index
            suite.resolution = resolution
            suite.seed = seed
            return suite
        }

        /// Loads the models and draws one figure around the input, with `--radius` stored at `radiusKey`.
        func draw(_ checkpoints: Checkpoints, radiusKey: WritableKeyPath<FigureSuite, Float?>,
                  _ figure: (FigureSuite, [FigureSuite.NamedModel], Dataset, [String]?, URL) throws -> FigureRecord) throws {
            let (models, test, names) = try checkpoints.load()
            var suite = try suite(seed: checkpoints.seed)
            suite[keyPath: radiusKey] = radius
            report(try figure(suite, models, test, names, checkpoints.directory))
        }
    }

    struct Boundary: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "boundary",
            abstract: "Decision boundary near an input in its adversarial × random plane, with a quadratic fit and its curvature.",
            discussion: "Example: lcnn plot boundary --checkpoint runs/std/best.safetensors --checkpoint runs/lcnn/best.safetensors --index 0 --out figures")
        @OptionGroup var checkpoints: Checkpoints
        @OptionGroup var around: Around
        func run() throws {
            try around.draw(checkpoints, radiusKey: \.boundaryRadius) { try $0.boundary($1, test: $2, classNames: $3, into: $4) }
        }
    }

    struct Regions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "regions", abstract: "Decision regions on a random plane through an input.",
            discussion: "Example: lcnn plot regions --checkpoint runs/std/best.safetensors --checkpoint runs/lcnn/best.safetensors --index 0 --out figures")
        @OptionGroup var checkpoints: Checkpoints
        @OptionGroup var around: Around
        func run() throws {
            try around.draw(checkpoints, radiusKey: \.regionsRadius) { try $0.regions($1, test: $2, classNames: $3, into: $4) }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "path",
            abstract: "A path between two inputs of one class that stays in the class (path-connectedness), on its principal components.",
            discussion: "Example: lcnn plot path --checkpoint runs/lcnn/best.safetensors --from 0 --to 12 --out figures")
        @OptionGroup var checkpoints: Checkpoints
        @Option(help: "Test index of the path's start (default: the first test input every model predicts correctly).") var from: Int?
        @Option(help: "Test index of its end (default: the next test input of the same label every model predicts correctly).") var to: Int?
        @Option(name: .customLong("check-points"), help: "Points checked on every segment.") var checkPoints = 16
        @Option(name: .customLong("max-depth"), help: "Depth of the midpoint repair.") var maxDepth = 12
        func run() throws {
            guard checkPoints >= 2, maxDepth >= 1 else { throw ValidationError("--check-points must be ≥ 2 and --max-depth ≥ 1") }
            let (models, test, _) = try checkpoints.load()
            var suite = FigureSuite()
            suite.pathStart = from
            suite.pathTarget = to
            suite.seed = checkpoints.seed
            var finder = ClassPathFinder()
            finder.checkPoints = checkPoints
            finder.maxDepth = maxDepth
            if test.images.rank != 4 { finder.inputRange = nil }
            report(try suite.path(models, test: test, finder: finder, into: checkpoints.directory))
        }
    }
}
