import Datasets
import Foundation
import NN

/// Runs the calibration of SPEC S1 (paper appendix E): a short Standard run as the reference,
/// then a short run of each regularised method at each weight of its grid, and the rule of
/// ``CalibrationRule``. Every finished short run is written to `calibration.json` at once, so
/// an interrupted calibration resumes with the runs still missing (a stored result is reused
/// only when its settings, dataset, model, seed and base loop are the same).
public struct CalibrationRunner {
    /// The protocol's common configuration (dataset, model, loop, seed); method, weights,
    /// epochs and subsets are set per short run.
    public var base: TrainConfig
    public var settings: CalibrationSettings
    public var weights: [CalibratedWeight]
    /// Progress lines (nil: silent).
    public var onEvent: ((String) -> Void)?
    /// The processes the short runs are spread over (``Trainer/communicator``); rank 0 writes.
    public var communicator: any Communicator = SingleProcess()

    public static let fileName = "calibration.json"
    public static let tableName = "calibration.md"

    public init(base: TrainConfig, settings: CalibrationSettings = .init(), weights: [CalibratedWeight] = CalibratedWeight.allCases) {
        self.base = base
        self.settings = settings
        self.weights = weights
    }

    /// The stored calibration this runner would reuse: same settings, data, model and loop.
    struct Stored: Codable {
        var base: TrainConfig
        var result: CalibrationResult
    }

    /// Calibrates into `directory` (`calibration.json`, `calibration.md`), reusing what it holds.
    public func run(train: Dataset, directory: URL) throws -> CalibrationResult {
        guard settings.trainSubset > 0, settings.validationCount > 0, settings.epochs > 0, settings.samples > 0 else {
            throw ReproductionError.invalidPlan("calibration subsets, epochs and samples must be positive")
        }
        guard settings.trainSubset + settings.validationCount <= train.count else {
            throw ReproductionError.invalidPlan(
                "calibration needs \(settings.trainSubset) training + \(settings.validationCount) held-out images, "
                    + "the training set has \(train.count)")
        }
        let validation = train.subset(Array((train.count - settings.validationCount)..<train.count), name: train.name + "/validation")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(Self.fileName)
        var stored = (try? Data(contentsOf: url)).flatMap { try? Reproduction.decoder.decode(Stored.self, from: $0) }
        if let s = stored, !(s.base == shortBase && s.result.settings == settings) { stored = nil }
        communicator.barrier()   // every process has read the file before rank 0 rewrites it

        func save(_ result: CalibrationResult) throws {
            guard communicator.isRoot else { return }
            try Data(Reproduction.encode(Stored(base: shortBase, result: result), pretty: true).utf8).write(to: url, options: .atomic)
        }
        let reference = try stored?.result.reference ?? shortRun(.standard, weight: nil, train: train, validation: validation)
        var result = CalibrationResult(dataset: base.dataset, architecture: base.architecture, seed: base.seed, settings: settings,
                                       reference: reference, weights: [])
        try save(result)
        for weight in weights {
            let previous = stored?.result.weights.first { $0.weight == weight }?.points ?? []
            var points: [CalibrationPoint] = []
            for value in settings.grid(weight) {
                let point = try previous.first { $0.weight == value }
                    ?? shortRun(weight.method, weight: (weight, value), train: train, validation: validation)
                points.append(point)
                result.weights = result.weights.filter { $0.weight != weight }
                    + [Self.decide(weight, points, result, cap: weight == .lcnn ? PenaltyDrift.maximumBetaWeight(for: base, trainCount: train.count) : nil)]
                try save(result)
            }
        }
        if communicator.isRoot {
            try Data(result.markdown.utf8).write(to: directory.appendingPathComponent(Self.tableName), options: .atomic)
        }
        return result
    }

    /// The rule's choice; `cap` (the LCNN penalty's drift bound for the full run) excludes larger weights.
    static func decide(_ weight: CalibratedWeight, _ points: [CalibrationPoint], _ result: CalibrationResult,
                       cap: Float? = nil) -> WeightCalibration {
        let choice = CalibrationRule.choose(points.compactMap { p in p.weight.map { ($0, p.accuracy) } },
                                            reference: result.reference.accuracy, tolerance: result.settings.tolerance,
                                            cap: cap ?? .infinity)
        let uncapped = CalibrationRule.choose(points.compactMap { p in p.weight.map { ($0, p.accuracy) } },
                                              reference: result.reference.accuracy, tolerance: result.settings.tolerance)
        return WeightCalibration(weight: weight, points: points, chosen: choice?.weight ?? weight.paperValue,
                                 withinTolerance: choice?.withinTolerance ?? false,
                                 cap: uncapped?.weight != choice?.weight ? cap : nil)
    }

    /// The short runs' common configuration.
    var shortBase: TrainConfig {
        var c = base
        c.trainSubset = settings.trainSubset
        c.testSubset = nil
        c.epochs = settings.epochs
        c.activation = nil
        return c
    }

    /// Trains one short run (in memory: no checkpoints) and scores it on the validation images.
    func shortRun(_ method: TrainingMethod, weight: (CalibratedWeight, Float)?, train: Dataset,
                  validation: Dataset) throws -> CalibrationPoint {
        var config = shortBase
        config.method = method
        if let (w, value) = weight { w.apply(value, to: &config) }
        let label = method.rawValue + (weight.map { " \($0.0.symbol) = \(CalibrationResult.weight($0.1))" } ?? "")
        onEvent?("calibration: \(label)…")
        let start = Date()
        let trainer = try Trainer(config: config, train: train, test: validation, outputDirectory: nil)
        trainer.communicator = communicator
        do {
            try trainer.run()
        } catch let TrainingError.nonFiniteLoss(epoch, step, term, value) {
            // A weight too large to train is a result of the grid, not a failure of the protocol.
            guard let weight else { throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, term: term, value: value) }
            let reason = "diverged: \(term) was \(value) at epoch \(epoch + 1)" + (step >= 0 ? ", step \(step + 1)" : "")
            onEvent?("calibration: \(label): \(reason)")
            return CalibrationPoint(weight: weight.1, accuracy: 0, accuracyInterval: Statistics.wilson(successes: 0, trials: validation.count),
                                    gradientNorm: .nan, curvature: .nan, seconds: Date().timeIntervalSince(start), diverged: reason)
        }
        let correct = Trainer.evaluatePerSample(trainer.model, on: validation).correct
        let hits = correct.filter { $0 }.count
        let measurement = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: settings.powerIterations,
                                                                                     tolerance: 1e-3, seed: config.seed))
        let summary = CurvatureSummary.evaluate(model: trainer.model, dataset: validation.prefix(settings.samples),
                                                batchSize: 100, measurement: measurement)
        let point = CalibrationPoint(weight: weight?.1, accuracy: Double(hits) / Double(max(correct.count, 1)),
                                     accuracyInterval: Statistics.wilson(successes: hits, trials: correct.count),
                                     gradientNorm: summary.gradientNorm.mean, curvature: summary.curvature.mean,
                                     seconds: Date().timeIntervalSince(start))
        onEvent?(String(format: "calibration: %@: accuracy %.2f%%, G1 %.4g, C %.4g (%.0f s)", label, 100 * point.accuracy,
                        point.gradientNorm, point.curvature, point.seconds))
        return point
    }
}
