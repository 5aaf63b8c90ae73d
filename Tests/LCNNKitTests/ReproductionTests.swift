import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// `lcnn reproduce` as a library: a tiny plan on two moons runs end to end, writes the tables and
/// the report, and resumes instead of retraining.
@Suite("Reproduction")
struct ReproductionTests {
    /// Two moons, MLP, 2 epochs, 200 points, three methods, 16 measured samples: seconds in a debug build.
    /// The constant schedule makes epoch 0 the same whatever the number of epochs (for the resume test).
    static func tinyPlan(_ names: [String] = ["standard", "lcnn", "gradreg"], epochs: Int = 2) throws -> ReproductionPlan {
        var plan = try ReproductionPlan.small(dataset: .moons, seed: 5).only(names)
        plan.calibration = nil
        plan = plan.mapConfigs {
            $0.epochs = epochs
            $0.moonsCount = 200
            $0.batchSize = 32
            $0.learningRate = 0.05
            $0.schedule = .constant
        }
        plan.evaluation = ReproductionEvaluation(samples: 16, batchSize: 16, powerIterations: 3)
        return plan
    }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    static func modificationDate(_ url: URL) throws -> Date {
        try #require(FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date)
    }

    struct FigureFailure: Error, CustomStringConvertible { var description: String { "boundary plot exploded" } }

    @Test("a tiny two-moons plan runs end to end: runs, evaluation.jsonl, tables, report with claims and figures")
    func endToEnd() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try Self.tinyPlan()
        let reproduction = Reproduction(plan: plan, outputPath: dir.path, commandLine: "lcnn reproduce --dataset moons")
        var seenOutcome: ReproductionOutcome?
        let figure = FigureRecord(title: "Two moons: Standard vs LCNN", caption: "Decision boundaries (Fig. 1a/b).",
                                  png: "figures/moons.png", svg: "figures/moons.svg",
                                  command: "lcnn moons --out figures", findings: ["LCNN boundary is smoother"])
        let outcome = try reproduction.run(figureGenerators: [
            FigureGenerator(name: "moons") { o in seenOutcome = o; return [figure] },
            FigureGenerator(name: "boundary") { _ in throw FigureFailure() },
        ])

        #expect(outcome.runs.map(\.name) == ["standard", "lcnn", "gradreg"])
        #expect(seenOutcome?.runs.count == 3 && seenOutcome?.dataset == .moons)
        for run in outcome.runs {
            #expect(FileManager.default.fileExists(atPath: run.directory.appendingPathComponent("last.safetensors").path))
            #expect(try EpochMetrics.readLines(run.directory.appendingPathComponent("metrics.jsonl")).count == 2)
            #expect(run.trained)
            #expect(run.result.label == run.name)
        }
        let evaluations = try Reproduction.readEvaluations(dir.appendingPathComponent("evaluation.jsonl"))
        #expect(evaluations.map(\.label) == ["standard", "lcnn", "gradreg"])
        #expect(evaluations.allSatisfy { $0.test?.count == 16 && $0.discrepancy != nil && $0.pgd != nil && $0.fgsm != nil })
        #expect(try Self.read(dir.appendingPathComponent("tables.md")).contains("Table 1"))
        #expect(try Self.read(dir.appendingPathComponent("tables.csv")).split(separator: "\n").count == 4)

        let report = try Self.read(dir.appendingPathComponent("report.md"))
        for heading in ["## Table 1", "## Table 2", "## FGSM", "## Table 3", "## Training cost", "## Data-free curvature bounds",
                        "## Parametric swish vs centered softplus", "## Paper claims vs this run", "## Figures"] {
            #expect(report.contains(heading), "report.md lacks \(heading)")
        }
        #expect(report.contains("`lcnn reproduce --dataset moons`"))
        // The exact commands: each run's `lcnn train` line and the `lcnn eval` line.
        #expect(report.contains("lcnn train --dataset moons --model mlp --method lcnn"))
        #expect(report.contains("--out \(dir.path)/runs/gradreg"))
        #expect(report.contains("lcnn eval --checkpoint \(dir.path)/runs/standard/last.safetensors"))
        // Cost per step, with the ratio to Standard and its interval; the paper's ratio for Standard is 1.
        #expect(report.contains("| run | median ms / step | epochs | ×Standard [95 %] | paper ×Standard |"))
        #expect(report.split(separator: "\n").contains { $0.hasPrefix("| standard | ") && $0.hasSuffix("| 2 | 1.00 [1.00, 1.00] | 1 |") }
                || report.split(separator: "\n").contains { $0.hasPrefix("| standard | ") && $0.hasSuffix(" | 1 |") })
        // Claims with computed verdicts (the swish run is not in this plan: not measured).
        #expect(report.contains("borne out"))
        #expect(report.contains("not measured"))
        // Figures: the entry passed in, and the failing generator's error.
        #expect(report.contains("### Two moons: Standard vs LCNN"))
        #expect(report.contains("![Two moons: Standard vs LCNN](figures/moons.png)"))
        #expect(report.contains("lcnn moons --out figures"))
        #expect(report.contains("- LCNN boundary is smoother"))
        #expect(report.contains("`boundary` failed: boundary plot exploded"))
    }

    @Test("a throwing figure closure is noted in the report and the run still completes")
    func throwingFigureClosure() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-fig")
        defer { try? FileManager.default.removeItem(at: dir) }
        let reproduction = Reproduction(plan: try Self.tinyPlan(["standard"], epochs: 1), outputPath: dir.path)
        try reproduction.run(figures: { _ in throw FigureFailure() })
        let report = try Self.read(dir.appendingPathComponent("report.md"))
        #expect(report.contains("failed: boundary plot exploded"))
        #expect(report.contains("## Paper claims vs this run"))
    }

    @Test("running again reuses finished runs and their measurements")
    func reusesFinishedRuns() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-reuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try Self.tinyPlan(["standard", "lcnn"])
        try Reproduction(plan: plan, outputPath: dir.path).run(figures: { _ in [] })
        let checkpoints = plan.runs.map { dir.appendingPathComponent("runs/\($0.name)/last.safetensors") }
        let dates = try checkpoints.map(Self.modificationDate)

        let again = Reproduction(plan: plan, outputPath: dir.path)
        var events: [String] = []
        again.onEvent = { event in
            switch event {
            case .runReused(let name, _): events.append("reused \(name)")
            case .runStarted(let name, _, _, _, _): events.append("started \(name)")
            case .evaluationReused(let name): events.append("measurements reused \(name)")
            case .evaluating(let name, _): events.append("measuring \(name)")
            default: break
            }
        }
        let outcome = try again.run(figures: { _ in [] })
        #expect(events == ["reused standard", "reused lcnn", "measurements reused standard", "measurements reused lcnn"])
        #expect(outcome.runs.allSatisfy { !$0.trained })
        #expect(try checkpoints.map(Self.modificationDate) == dates)
        #expect(try Self.read(dir.appendingPathComponent("report.md")).contains("| standard |"))
    }

    @Test("a half-finished run resumes from its last checkpoint and ends where an uninterrupted run does")
    func resumesHalfFinishedRun() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-resume"), reference = TrainFixtures.temporaryDirectory("repro-ref")
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: reference)
        }
        let plan = try Self.tinyPlan(["standard"], epochs: 3)
        // An interrupted run: only its first epoch finished.
        var interrupted = plan.runs[0].config
        interrupted.epochs = 1
        let data = try plan.dataset.load(directory: nil, seed: interrupted.seed, moonsCount: interrupted.moonsCount)
        try Trainer(config: interrupted, train: data.train, test: data.test,
                    outputDirectory: dir.appendingPathComponent("runs/standard")).run()

        let reproduction = Reproduction(plan: plan, outputPath: dir.path)
        var starts: [Int] = []
        reproduction.onEvent = { if case .runStarted(_, _, _, let start, _) = $0 { starts.append(start) } }
        try reproduction.run(figures: { _ in [] })
        #expect(starts == [1])
        let metrics = try EpochMetrics.readLines(dir.appendingPathComponent("runs/standard/metrics.jsonl"))
        #expect(metrics.map(\.epoch) == [0, 1, 2])
        #expect(try TrainConfig.load(from: dir.appendingPathComponent("runs/standard/config.json")) == plan.runs[0].config)

        try Reproduction(plan: plan, outputPath: reference.path).run(figures: { _ in [] })
        let resumed = try CheckpointModel(url: dir.appendingPathComponent("runs/standard/last.safetensors"))
        let uninterrupted = try CheckpointModel(url: reference.appendingPathComponent("runs/standard/last.safetensors"))
        #expect(TrainFixtures.snapshot(resumed.model.stateDict()) == TrainFixtures.snapshot(uninterrupted.model.stateDict()))
    }

    @Test("a run whose checkpoint is behind its metrics (killed between the writes) resumes and is measured again")
    func checkpointBehindMetrics() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-behind"), early = TrainFixtures.temporaryDirectory("repro-early")
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: early)
        }
        let plan = try Self.tinyPlan(["standard"], epochs: 2)
        try Reproduction(plan: plan, outputPath: dir.path).run(figures: { _ in [] })
        // The checkpoint of epoch 0 under the metrics of both epochs.
        var first = plan.runs[0].config
        first.epochs = 1
        let data = try plan.dataset.load(directory: nil, seed: first.seed, moonsCount: first.moonsCount)
        try Trainer(config: first, train: data.train, test: data.test, outputDirectory: early).run()
        let last = dir.appendingPathComponent("runs/standard/last.safetensors")
        try FileManager.default.removeItem(at: last)
        try FileManager.default.copyItem(at: early.appendingPathComponent("last.safetensors"), to: last)

        let again = Reproduction(plan: plan, outputPath: dir.path)
        var events: [String] = []
        again.onEvent = { event in
            switch event {
            case .runReused(let name, _): events.append("reused \(name)")
            case .runStarted(let name, _, _, let start, _): events.append("started \(name) at \(start)")
            case .evaluationReused(let name): events.append("measurements reused \(name)")
            case .evaluating(let name, _): events.append("measuring \(name)")
            default: break
            }
        }
        try again.run(figures: { _ in [] })
        #expect(events == ["started standard at 1", "measuring standard"])
    }

    @Test("a finished run under a multistep schedule is not extended to more epochs")
    func multistepRunNotExtended() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-extend")
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = try Self.tinyPlan(["standard"], epochs: 1).mapConfigs { $0.schedule = .multistep }
        try Reproduction(plan: short, outputPath: dir.path).run(figures: { _ in [] })
        let longer = short.mapConfigs { $0.epochs = 2 }
        #expect {
            try Reproduction(plan: longer, outputPath: dir.path).run(figures: { _ in [] })
        } throws: { error in
            "\(error)".contains("multistep") && "\(error)".contains("another --out")
        }
    }

    @Test("a run directory trained with another configuration stops the reproduction with a clear error")
    func conflictingRun() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-conflict")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Reproduction(plan: try Self.tinyPlan(["standard"], epochs: 1), outputPath: dir.path).run(figures: { _ in [] })
        let other = try Self.tinyPlan(["standard"], epochs: 1).mapConfigs { $0.learningRate = 0.01 }
        #expect(throws: ReproductionError.self) { try Reproduction(plan: other, outputPath: dir.path).run(figures: { _ in [] }) }
    }

    @Test("small and full plans: eight runs in order, the paper's loop, swish vs centered softplus")
    func plans() throws {
        let quick = ReproductionPlan.small()
        #expect(quick.runs.map(\.name) == ReproductionPlan.runNames)
        #expect(quick.dataset == .fashionMNIST && quick.architecture == .smallcnn && quick.size == .small)
        #expect(quick.runs.allSatisfy { $0.config.optimizer == .sgd && $0.config.learningRate == 0.1 && $0.config.momentum == 0.9
            && $0.config.weightDecay == 5e-4 && $0.config.batchSize == 128 && $0.config.schedule == .multistep })
        let methods = quick.runs.map(\.config.method)
        #expect(methods == [.standard, .lcnn, .gradreg, .lcnnGradreg, .cure, .softplusWD, .adversarial, .lcnn])
        #expect(quick.runs[1].config.activation == nil)   // LCNN's own activation: centered softplus
        #expect(quick.runs[7].config.activation == .swish)
        try quick.validate()

        let full = ReproductionPlan.full(dataset: .cifar10, dataDirectory: "data/cifar", seed: 2)
        #expect(full.architecture == .resnet18 && full.size == .full && full.evaluation.samples == 1000)
        #expect(full.runs.allSatisfy { $0.config.epochs == 200 && $0.config.trainSubset == nil && $0.config.seed == 2
            && $0.config.dataDirectory == "data/cifar" })
        #expect(full.runs.allSatisfy { $0.config.objective.penalty == .paper && $0.config.objective.gradientPenaltyWeight == 1e-3 })
        #expect(throws: ReproductionError.self) { try quick.only(["lcnn", "nonsense"]) }
        #expect(try quick.only(["lcnn-swish", "standard"]).runs.map(\.name) == ["standard", "lcnn-swish"])
    }

    @Test("every run of the plans renders as `lcnn train` options that describe it completely")
    func commandLines() throws {
        for plan in [ReproductionPlan.small(), .standardSize(), .full(dataset: .cifar100, dataDirectory: "my data"), try Self.tinyPlan()] {
            for run in plan.runs {
                #expect(run.config.isCommandLineRepresentable)
                let args = run.config.commandLineArguments()
                #expect(args.starts(with: ["--dataset", plan.dataset.rawValue]))
                #expect(args.contains(run.config.method.rawValue))
            }
        }
        let swish = ReproductionPlan.small().runs[7].config.trainCommand(out: "runs/x")
        #expect(swish.hasPrefix("lcnn train --dataset fashion-mnist --model smallcnn --method lcnn --activation swish --epochs 5"))
        #expect(swish.hasSuffix("--out runs/x"))
        #expect(ReproductionPlan.full(dataDirectory: "my data").runs[0].config.trainCommand(out: nil).contains("--data 'my data'"))
    }
}
