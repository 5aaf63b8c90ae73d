import Datasets
import Foundation
import NN

/// What a finished reproduction produced; the figure generators read their checkpoints from it.
public struct ReproductionOutcome: Sendable {
    /// One run: its directory, the checkpoint that was measured, and the measurements.
    public struct Run: Sendable {
        public var name: String
        /// The protocol run this is a replicate of (``ReproductionRun/group``).
        public var group: String
        public var summary: String
        public var config: TrainConfig
        /// `OUT/runs/<name>`.
        public var directory: URL
        /// The measured checkpoint (`last.safetensors` or `best.safetensors`).
        public var checkpoint: URL
        public var result: EvaluationResult
        /// False when the run was found finished and reused.
        public var trained: Bool
        /// Milliseconds per optimiser step of each epoch (the cost comparisons' samples).
        public var millisecondsPerStep: [Double]
        /// Why training stopped early (a non-finite loss); the run is then measured at its last
        /// good epoch. Nil for runs that finished.
        public var diverged: String? = nil
    }

    /// The reproduction's output directory (holds `report.md`).
    public var directory: URL
    /// The output directory as the user wrote it, for the commands printed in the report.
    public var directoryPath: String
    /// The plan as it ran: calibrated weights and ε grids filled in.
    public var plan: ReproductionPlan
    public var runs: [Run]
    /// The weight calibration (nil when the plan kept its weights).
    public var calibration: CalibrationResult?
    /// The ε calibrations (ℓ2 PGD, ℓ∞ FGSM); empty when the grids were given.
    public var epsilonCalibration: [EpsilonCalibration] = []
    public var dataset: DatasetName { plan.dataset }
    public var dataDirectory: String? { plan.dataDirectory }

    public func run(named name: String) -> Run? { runs.first { $0.name == name } }
    /// Every replicate of a protocol run, in seed order.
    public func replicates(of group: String) -> [Run] { runs.filter { $0.group == group } }
    /// The protocol runs' names, in order, each once.
    public var groups: [String] { runs.map(\.group).orderedUnique() }
}

/// Progress of a reproduction, for the command's output lines.
public enum ReproductionEvent: Sendable {
    case dataLoaded(dataset: String, train: Int, test: Int)
    /// A run whose metrics show every epoch finished: reused, not retrained.
    case runReused(name: String, epochs: Int)
    case runStarted(name: String, index: Int, of: Int, startEpoch: Int, epochs: Int)
    case runFinished(name: String, history: [EpochMetrics], seconds: Double)
    case evaluationReused(name: String)
    case evaluating(name: String, samples: Int)
    case evaluated(name: String, result: EvaluationResult, seconds: Double)
    case wrote(path: String)
    /// A line of progress from a protocol step (calibration, ε sweep).
    case note(String)
}

/// Executes a ``ReproductionPlan`` into an output directory:
///
/// - `OUT/runs/<name>/` — one ``Trainer`` output directory per run (`config.json`,
///   `metrics.jsonl`, `last.safetensors`, `best.safetensors`). A run whose metrics show all its
///   epochs is reused; an unfinished one resumes from `last.safetensors` (the Trainer's resume,
///   bit-identical to an uninterrupted run), so an interrupted reproduction continues where it
///   stopped. Each run's measurements are kept in `OUT/runs/<name>/evaluation.json` and reused
///   while the checkpoint and the evaluation settings are unchanged.
/// - `OUT/evaluation.jsonl` — one ``EvaluationResult`` per run (label = run name).
/// - `OUT/tables.md`, `OUT/tables.csv` — Tables 1–3 by ``EvaluationReport``.
/// - `OUT/report.md` — ``ReproductionReport``.
public final class Reproduction {
    public let plan: ReproductionPlan
    public let outputDirectory: URL
    /// The output directory as given by the user (relative paths stay relative in the report's commands).
    public let outputPath: String
    /// The toolkit command line that started the reproduction (printed in the report's header).
    public var commandLine: String
    /// Receives progress events (nil: silent).
    public var onEvent: ((ReproductionEvent) -> Void)?
    /// Per-epoch progress of training (the ``TrainingProgress`` lines); nil trains silently.
    public var trainingProgress: ((Int) -> TrainingProgress)?
    /// The name of the toolkit's executable in printed commands.
    public var executable = "lcnn"
    /// The processes of `mpirun -np N lcnn reproduce --distributed`: every run trains
    /// data-parallel, the measurements are sharded (``ShardedMeasurement``), and rank 0 alone
    /// writes files, draws the figures and returns the outcome's runs (the others return none).
    public var communicator: any Communicator = SingleProcess()

    public static let runsDirectoryName = "runs"
    public static let evaluationName = "evaluation.jsonl"
    public static let runEvaluationName = "evaluation.json"

    public init(plan: ReproductionPlan, outputPath: String, commandLine: String = "") {
        self.plan = plan
        self.outputPath = outputPath
        self.outputDirectory = URL(fileURLWithPath: outputPath, isDirectory: true)
        self.commandLine = commandLine
    }

    /// The directory of one run.
    public func directory(of run: ReproductionRun) -> URL {
        outputDirectory.appendingPathComponent(Self.runsDirectoryName).appendingPathComponent(run.name, isDirectory: true)
    }

    /// Runs the plan with one figure closure (its figures, or its error, appear in the report).
    @discardableResult
    public func run(figures: @escaping (ReproductionOutcome) throws -> [FigureRecord]) throws -> ReproductionOutcome {
        try run(figureGenerators: [FigureGenerator(name: "figures", make: figures)])
    }

    /// Calibrates the weights, trains (or reuses) every run, calibrates ε on the first Standard
    /// run, measures every checkpoint, calls the figure generators and writes the tables and
    /// `report.md`.
    @discardableResult
    public func run(figureGenerators: [FigureGenerator]) throws -> ReproductionOutcome {
        let started = Date()
        var plan = self.plan
        try plan.validate()
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let first = plan.runs[0].config
        let (train, test) = try plan.dataset.load(directory: plan.dataDirectory, seed: first.seed, moonsCount: first.moonsCount,
                                                  moonsNoise: first.moonsNoise, moonsLabelNoise: first.moonsLabelNoise)
        onEvent?(.dataLoaded(dataset: plan.dataset.rawValue, train: train.count, test: test.count))

        // S1: the regularisation weights, from short runs (reused when calibration.json matches).
        var calibration: CalibrationResult?
        if let settings = plan.calibration, !plan.calibratedWeights.isEmpty {
            var runner = CalibrationRunner(base: first, settings: settings, weights: plan.calibratedWeights)
            runner.onEvent = { [onEvent] in onEvent?(.note($0)) }
            runner.communicator = communicator
            let result = try runner.run(train: train, directory: outputDirectory.appendingPathComponent("calibration"))
            calibration = result
            plan = plan.mapConfigsKeepingSize { result.apply(to: &$0) }
        }

        var trained: [String: Bool] = [:]
        var epsilons: [EpsilonCalibration] = []
        for (index, run) in plan.runs.enumerated() {
            if plan.evaluation.calibrateEpsilons, epsilons.isEmpty, run.group != "standard" {
                epsilons = try calibrateEpsilons(&plan, test: test)
            }
            trained[run.name] = try trainRun(plan.runs[index], index: index, of: plan.runs.count, train: train, test: test)
            communicator.barrier()   // rank 0's checkpoint writes are done before anyone reads them
        }
        if plan.evaluation.calibrateEpsilons, epsilons.isEmpty { epsilons = try calibrateEpsilons(&plan, test: test) }
        if communicator.isRoot {
            try Data(Self.encode(plan, pretty: true).utf8).write(to: outputDirectory.appendingPathComponent("plan.json"), options: .atomic)
        }

        var runs: [ReproductionOutcome.Run] = []
        for run in plan.runs {
            let dir = directory(of: run)
            let diverged = Self.divergence(in: dir)
            let checkpoint: URL
            if let found = try? checkpointURL(in: dir) {
                checkpoint = found
            } else if let diverged {
                onEvent?(.note("[\(run.name)] \(diverged) before its first epoch ended: not measured"))
                continue
            } else {
                checkpoint = try checkpointURL(in: dir)   // throws the error naming the directory
            }
            let evaluated = try evaluate(run, plan: plan, checkpoint: checkpoint, train: train, test: test,
                                         reuse: trained[run.name] == false)
            let audited = try audit(run, plan: plan, checkpoint: checkpoint, test: test)
            guard var result = evaluated else { continue }   // a process other than rank 0: its shards are measured
            result.autoAttack = audited?.autoAttack
            result.certified = audited?.certified
            let metricsURL = dir.appendingPathComponent(Trainer.metricsName)
            let metrics = FileManager.default.fileExists(atPath: metricsURL.path) ? try EpochMetrics.readLines(metricsURL) : []
            runs.append(.init(name: run.name, group: run.group, summary: run.summary, config: run.config, directory: dir,
                              checkpoint: checkpoint, result: result, trained: trained[run.name] ?? true,
                              millisecondsPerStep: metrics.compactMap(\.millisecondsPerStep), diverged: diverged))
        }
        let outcome = ReproductionOutcome(directory: outputDirectory, directoryPath: outputPath, plan: plan, runs: runs,
                                          calibration: calibration, epsilonCalibration: epsilons)
        guard communicator.isRoot else { return outcome }

        let results = runs.map(\.result)
        let lines = results.map { Self.encode($0, pretty: false) + "\n" }.joined()
        try write(lines, Self.evaluationName)
        let tables = EvaluationReport(results)
        try write(tables.markdown, "tables.md")
        try write(tables.csv, "tables.csv")

        var entries: [ReportFigureEntry] = []
        for generator in figureGenerators {
            do {
                entries += try generator.make(outcome).map { .figure($0) }
            } catch {
                entries.append(.failed(generator: generator.name, error: "\(error)"))
            }
        }
        var report = ReproductionReport(outcome: outcome, figures: entries, commandLine: commandLine)
        report.executable = executable
        report.wallSeconds = Date().timeIntervalSince(started)
        try write(report.markdown, "report.md")
        return outcome
    }

    /// S2: sweeps ℓ2 PGD and ℓ∞ FGSM on the first Standard run's checkpoint over test samples
    /// after the measured ones, sets both ε grids of the evaluation from ``EpsilonCalibration``
    /// and trains adversarial runs at the ℓ2 grid's second point (the paper trains at its 0.1).
    func calibrateEpsilons(_ plan: inout ReproductionPlan, test: Dataset) throws -> [EpsilonCalibration] {
        guard let standard = plan.runs.first(where: { $0.group == "standard" }) else {
            throw ReproductionError.invalidPlan("ε calibration needs the standard run (pass --epsilons to set the grid instead)")
        }
        let e = plan.evaluation
        let start = min(e.samples, test.count), end = min(e.samples + e.sweepSamples, test.count)
        guard end > start else {
            throw ReproductionError.invalidPlan("the test set has no samples after the \(e.samples) measured ones for the ε sweep")
        }
        let sweepSet = test.subset(Array(start..<end), name: test.name + "/ε-sweep")
        let model = try CheckpointModel(url: checkpointURL(in: directory(of: standard))).model
        var options = AttackOptions()
        options.inputRange = test.images.rank == 4 ? 0...1 : nil
        onEvent?(.note("ε calibration: sweeping ℓ2 PGD and ℓ∞ FGSM on the standard model over \(end - start) test samples…"))
        let l2 = EpsilonCalibration.calibrate(model: model, dataset: sweepSet, attack: .pgdL2,
                                              radii: EpsilonCalibration.sweepRadii(start: 0.05, stop: 8), options: options,
                                              batchSize: e.batchSize, seed: e.seed, fallback: AttackKind.paperEpsilons)
        let linf = EpsilonCalibration.calibrate(model: model, dataset: sweepSet, attack: .fgsmLinf,
                                                radii: EpsilonCalibration.sweepRadii(start: 0.002, stop: 0.5), options: options,
                                                batchSize: e.batchSize, seed: e.seed, fallback: e.fgsmEpsilons ?? e.epsilons)
        plan.evaluation.epsilons = l2.grid
        plan.evaluation.fgsmEpsilons = linf.grid
        let trainingRadius = plan.evaluation.claimEpsilon
        plan = plan.mapConfigsKeepingSize { if $0.method == .adversarial { $0.objective.adversarialEpsilon = trainingRadius } }
        let calibrations = [l2, linf]
        if communicator.isRoot {
            try Data(Self.encode(calibrations, pretty: true).utf8).write(to: outputDirectory.appendingPathComponent("epsilons.json"),
                                                                         options: .atomic)
        }
        onEvent?(.note("ε calibration: ℓ2 grid \(l2.grid.map { "\($0)" }.joined(separator: ", ")), "
                       + "ℓ∞ grid \(linf.grid.map { "\($0)" }.joined(separator: ", "))"))
        return calibrations
    }

    func write(_ text: String, _ name: String) throws {
        let url = outputDirectory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url, options: .atomic)
        onEvent?(.wrote(path: url.path))
    }

    /// Trains one run, resuming or reusing what `OUT/runs/<name>` holds; returns whether any epoch ran.
    func trainRun(_ run: ReproductionRun, index: Int, of count: Int, train: Dataset, test: Dataset) throws -> Bool {
        let dir = directory(of: run)
        let fm = FileManager.default
        let last = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let storedConfigURL = dir.appendingPathComponent("config.json")
        var resume = false
        if let diverged = Self.divergence(in: dir), (try? TrainConfig.load(from: storedConfigURL, validate: false)) == run.config {
            onEvent?(.note("[\(run.name)] \(diverged) earlier: kept at its last good epoch; not trained again"))
            return false
        }
        if fm.fileExists(atPath: storedConfigURL.path), fm.fileExists(atPath: last.path) {
            let stored = try TrainConfig.load(from: storedConfigURL)
            var comparable = stored
            comparable.epochs = run.config.epochs
            guard comparable == run.config else {
                throw ReproductionError.conflictingRun(name: run.name, directory: dir.path, detail: "its config.json differs from the plan's")
            }
            // A longer run may only continue one whose learning rates do not depend on the number of
            // epochs: a multistep or cosine schedule would have decayed at other epochs.
            guard stored.epochs == run.config.epochs || (stored.epochs < run.config.epochs && stored.schedule == .constant) else {
                throw ReproductionError.conflictingRun(
                    name: run.name, directory: dir.path,
                    detail: "it was trained for \(stored.epochs) epochs with the \(stored.schedule.rawValue) schedule, the plan asks for "
                        + "\(run.config.epochs); only a constant schedule can be extended: use another --out")
            }
            let done = Self.checkpointedEpochs(in: dir)
            if done >= run.config.epochs {
                onEvent?(.runReused(name: run.name, epochs: done))
                return false
            }
            resume = true
        }
        let trainer = try Trainer(config: run.config, train: train, test: test, outputDirectory: dir)
        trainer.communicator = communicator
        if resume {
            try trainer.resume()
            for warning in trainer.warnings { onEvent?(.note("warning: \(warning)")) }
            // Keep config.json in step when the plan extends the number of epochs.
            if communicator.isRoot { try Data(run.config.json().utf8).write(to: storedConfigURL, options: .atomic) }
        }
        trainer.progress = trainingProgress?(run.config.epochs)
        onEvent?(.runStarted(name: run.name, index: index, of: count, startEpoch: trainer.nextEpoch, epochs: run.config.epochs))
        let start = Date()
        do {
            let history = try trainer.run()
            onEvent?(.runFinished(name: run.name, history: history, seconds: Date().timeIntervalSince(start)))
        } catch let error as TrainingError {
            // One run whose loss became non-finite does not end the reproduction: it is recorded,
            // measured at its last good epoch, and reported as diverged.
            guard case .nonFiniteLoss = error else { throw error }
            if communicator.isRoot { try Data("\(error)\n".utf8).write(to: dir.appendingPathComponent(Self.divergedName), options: .atomic) }
            onEvent?(.note("[\(run.name)] \(error)"))
        }
        return true
    }

    /// The marker `OUT/runs/<name>/diverged.txt` written when a run's loss became non-finite.
    static let divergedName = "diverged.txt"

    /// The reason a run diverged, if it did.
    static func divergence(in dir: URL) -> String? {
        (try? String(contentsOf: dir.appendingPathComponent(divergedName), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The number of epochs `dir/last.safetensors` holds (its `next_epoch`): the checkpoint, not
    /// `metrics.jsonl`, says how far a run got, since a kill between their writes leaves the
    /// metrics ahead of the weights.
    static func checkpointedEpochs(in dir: URL) -> Int {
        guard let file = try? SafeTensors.read(from: dir.appendingPathComponent(Trainer.lastCheckpointName)) else { return 0 }
        return file.metadata["next_epoch"].flatMap(Int.init) ?? 0
    }

    func checkpointURL(in dir: URL) throws -> URL {
        let best = dir.appendingPathComponent(Trainer.bestCheckpointName), last = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let preferred = plan.checkpoint == .best ? best : last
        if FileManager.default.fileExists(atPath: preferred.path) { return preferred }
        if FileManager.default.fileExists(atPath: last.path) { return last }
        throw TrainingError.checkpoint("\(dir.path) holds no checkpoint")
    }

    /// What `OUT/runs/<name>/evaluation.json` holds.
    struct StoredEvaluation: Codable {
        var evaluation: ReproductionEvaluation
        var checkpoint: String
        /// The measured checkpoint's `epoch` metadata: a checkpoint rewritten since (a run
        /// extended or retrained) is measured again.
        var checkpointEpoch: String?
        var result: EvaluationResult
    }

    /// The `epoch` a checkpoint's metadata records.
    static func checkpointEpoch(_ url: URL) -> String? { (try? SafeTensors.read(from: url))?.metadata["epoch"] }

    /// The measurements of one run: the stored ones when still valid, else measured (sharded
    /// over the processes); nil on processes other than rank 0.
    func evaluate(_ run: ReproductionRun, plan: ReproductionPlan, checkpoint: URL, train: Dataset, test: Dataset,
                  reuse: Bool) throws -> EvaluationResult? {
        let stored = directory(of: run).appendingPathComponent(Self.runEvaluationName)
        if reuse, let data = try? Data(contentsOf: stored), let s = try? Self.decoder.decode(StoredEvaluation.self, from: data),
           s.evaluation == plan.evaluation, s.checkpoint == checkpoint.lastPathComponent,
           s.checkpointEpoch != nil, s.checkpointEpoch == Self.checkpointEpoch(checkpoint) {
            onEvent?(.evaluationReused(name: run.name))
            return communicator.isRoot ? s.result : nil
        }
        onEvent?(.evaluating(name: run.name, samples: min(plan.evaluation.samples, test.count)))
        let start = Date()
        let model = try CheckpointModel(url: checkpoint)
        guard var result = try Evaluation.evaluate(model, train: train, test: test, options: plan.evaluation.options,
                                                   communicator: communicator) else { return nil }
        result.label = run.name
        onEvent?(.evaluated(name: run.name, result: result, seconds: Date().timeIntervalSince(start)))
        let record = StoredEvaluation(evaluation: plan.evaluation, checkpoint: checkpoint.lastPathComponent,
                                      checkpointEpoch: Self.checkpointEpoch(checkpoint), result: result)
        try Data(Self.encode(record, pretty: true).utf8).write(to: stored, options: .atomic)
        return result
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    static func encode<T: Encodable>(_ value: T, pretty: Bool) -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? e.encode(value)) ?? Data(), as: UTF8.self)
    }

    /// Reads `OUT/evaluation.jsonl`.
    public static func readEvaluations(_ url: URL) throws -> [EvaluationResult] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try decoder.decode(EvaluationResult.self, from: Data($0.utf8))
        }
    }
}
