import Datasets
import Foundation

/// The figure generators `lcnn reproduce` hands to ``Reproduction``: the paper's Figures 1
/// and 2 and the geometry pictures of the curvature study `002` (SPEC V1–V6), each drawn from the
/// reproduction's own checkpoints by the same code as `lcnn moons` / `lcnn plot …`, and each
/// with the exact command that redraws it.
public struct ReproductionFigures {
    public var suite = FigureSuite()
    public var moons = MoonsExperiment()
    /// The command name printed in the regenerating commands.
    public var executable = "lcnn"
    /// Runs drawn in Figure 2 (paper: Standard, LCNN, GradReg, LCNN + GradReg).
    public var robustnessRuns = ["standard", "lcnn", "gradreg", "lcnn+gradreg"]
    /// Runs drawn in the boundary and region pictures (the study compares a base model with
    /// adversarial training and CURE).
    public var geometryRuns = ["standard", "lcnn", "gradreg", "lcnn+gradreg", "cure", "adversarial"]
    /// Runs whose class paths are found.
    public var pathRuns = ["standard", "lcnn", "lcnn+gradreg"]

    public init() {}

    /// One generator per figure, so that one failing figure leaves the others in the report.
    public var generators: [FigureGenerator] {
        [
            FigureGenerator(name: "Figure 1a/b (two moons)") { try [moonsFigure($0)] },
            FigureGenerator(name: "Figure 1c (activations)") { try [activationFigure($0)] },
            FigureGenerator(name: "Figure 2 (gradient robustness)") { try [robustnessFigure($0)] },
            FigureGenerator(name: "boundary near an input") { try [boundaryFigure($0)] },
            FigureGenerator(name: "decision regions") { try [regionsFigure($0)] },
            FigureGenerator(name: "class path") { try [pathFigure($0)] },
        ]
    }

    /// `OUT/figures`, and how the commands spell it.
    static func figures(_ outcome: ReproductionOutcome) -> (url: URL, path: String) {
        (outcome.directory.appendingPathComponent("figures"),
         (outcome.directoryPath.hasSuffix("/") ? outcome.directoryPath : outcome.directoryPath + "/") + "figures")
    }

    /// The report's entry for a rendered figure: paths relative to `report.md`.
    static func entry(_ figure: FigureRecord, relativeTo outcome: ReproductionOutcome, command: String) -> FigureRecord {
        figure.relative(to: outcome.directory, command: command)
    }

    /// The named runs present in the outcome, as checkpoints.
    func checkpoints(_ names: [String], in outcome: ReproductionOutcome) throws -> [CheckpointModel] {
        let runs = names.compactMap { outcome.run(named: $0) }
        guard !runs.isEmpty else {
            throw TrainingError.invalidConfiguration("none of the runs \(names.joined(separator: ", ")) is in this reproduction")
        }
        return try runs.map { try CheckpointModel(url: $0.checkpoint) }
    }

    /// `--checkpoint PATH` for each model, as the command line spells the run directories.
    func checkpointArguments(_ models: [CheckpointModel], _ outcome: ReproductionOutcome) -> String {
        models.map { model in
            let run = model.url.deletingLastPathComponent().lastPathComponent
            let root = outcome.directoryPath.hasSuffix("/") ? outcome.directoryPath : outcome.directoryPath + "/"
            return "--checkpoint \(root)\(Reproduction.runsDirectoryName)/\(run)/\(model.url.lastPathComponent)"
        }.joined(separator: " ")
    }

    func moonsFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        let (dir, path) = Self.figures(outcome)
        let runs = try moons.train(into: dir.appendingPathComponent("moons"))
        let figure = try DecisionBoundaryFigure.render(runs, into: dir.appendingPathComponent("moons"))
        return Self.entry(figure, relativeTo: outcome, command: "\(executable) moons --seed \(moons.seed) --out \(path)/moons")
    }

    func activationFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        let (dir, path) = Self.figures(outcome)
        let figure = try ActivationFigure.render(into: dir)
        return Self.entry(figure, relativeTo: outcome, command: "\(executable) plot activations --out \(path)")
    }

    func robustnessFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        let (dir, path) = Self.figures(outcome)
        let models = try checkpoints(robustnessRuns, in: outcome)
        let (_, test) = try models[0].loadData()
        let figure = try suite.robustness(FigureSuite.named(models), test: test, into: dir)
        return Self.entry(figure, relativeTo: outcome, command: "\(executable) plot robustness \(checkpointArguments(models, outcome)) "
                          + "--samples \(suite.samples) --levels \(suite.levels) --seed \(suite.seed) --out \(path)")
    }

    /// The options of the pictures drawn around one input, as the command line spells them.
    var aroundArguments: String { "--index \(suite.inputIndex) --resolution \(suite.resolution) --seed \(suite.seed)" }

    func boundaryFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        try aroundFigure(outcome, command: "boundary", radius: suite.boundaryRadius) {
            try suite.boundary($0, test: $1, classNames: outcome.dataset.classNames, into: $2)
        }
    }

    func regionsFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        try aroundFigure(outcome, command: "regions", radius: suite.regionsRadius) {
            try suite.regions($0, test: $1, classNames: outcome.dataset.classNames, into: $2)
        }
    }

    /// A picture around one test input of the geometry runs, drawn by `draw(models, test, directory)`,
    /// with the `lcnn plot <command>` line that redraws it.
    func aroundFigure(_ outcome: ReproductionOutcome, command: String, radius: Float?,
                      _ draw: ([FigureSuite.NamedModel], Dataset, URL) throws -> FigureRecord) throws -> FigureRecord {
        let (dir, path) = Self.figures(outcome)
        let models = try checkpoints(geometryRuns, in: outcome)
        let (_, test) = try models[0].loadData()
        let figure = try draw(FigureSuite.named(models), test, dir)
        let radiusArgument = radius.map { " --radius \($0)" } ?? ""
        return Self.entry(figure, relativeTo: outcome, command: "\(executable) plot \(command) \(checkpointArguments(models, outcome)) "
                          + "\(aroundArguments)\(radiusArgument) --out \(path)")
    }

    func pathFigure(_ outcome: ReproductionOutcome) throws -> FigureRecord {
        let (dir, path) = Self.figures(outcome)
        let models = try checkpoints(pathRuns, in: outcome)
        let (_, test) = try models[0].loadData()
        var finder = ClassPathFinder()
        if test.images.rank != 4 { finder.inputRange = nil }
        let named = FigureSuite.named(models)
        // Fix the ends first so the printed command names them.
        var suite = self.suite
        let start = try suite.pathBegin(named, test: test)
        suite.pathStart = start
        suite.pathTarget = try suite.pathEnd(named, test: test, from: start, checkPoints: finder.checkPoints)
        let figure = try suite.path(named, test: test, finder: finder, into: dir)
        return Self.entry(figure, relativeTo: outcome, command: "\(executable) plot path \(checkpointArguments(models, outcome)) "
                          + "--from \(start) --to \(suite.pathTarget!) --seed \(suite.seed) --out \(path)")
    }
}
