import ArgumentParser
import Foundation
import LCNNKit

/// `lcnn calibrate`: the paper's appendix-E choice of regularisation weights on a dataset.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Choose the regularisation weights as the paper did: a coarse grid, the largest that keeps accuracy.",
        discussion: """
            For LCNN (λβ, with λγ = λβ/10), GradReg (λg) and CURE (λ), trains a short run at each weight of a \
            grid of powers of 10 starting at the paper's value, and one Standard run, on the first --train-subset \
            training images for --epochs epochs with the paper's loop; scores each on --validation held-out \
            training images (the last ones; the test set is not used) and picks the largest weight whose accuracy \
            is at least Standard's minus --tolerance points. Writes calibration.json and calibration.md (weight → \
            accuracy with its 95 % Wilson interval, G1 and C(x)) to --out; an interrupted calibration resumes. \
            lcnn reproduce runs the same step first.
            Example: lcnn calibrate --dataset fashion-mnist --out runs/calibration
            """)

    @Option(help: "fashion-mnist (default), mnist, cifar10, cifar100 or moons.") var dataset: DatasetName = .fashionMNIST
    @Option(help: "Directory holding the dataset files.") var data: String?
    @Option(help: "Output directory.") var out = "runs/calibration"
    @Option(help: "Seed of every short run.") var seed: UInt64 = 0
    @Option(name: .customLong("train-subset"), help: "Training images of each short run.") var trainSubset = 10_000
    @Option(help: "Held-out training images that score the short runs.") var validation = 5_000
    @Option(help: "Epochs of each short run.") var epochs = 2
    @Option(help: "Largest accuracy drop below Standard's, in points.") var tolerance: Double = 1
    @Option(help: "Validation samples on which G1 and C(x) are measured.") var samples = 200
    @Option(help: "Weights to calibrate (comma-separated): lcnn, gradreg, cure.") var weights = "lcnn,gradreg,cure"

    func run() throws {
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a number ≥ 0") }
        let names = weights.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let chosen = try names.map { name -> CalibratedWeight in
            guard let w = CalibratedWeight(rawValue: name) else {
                throw ValidationError("unknown weight \"\(name)\"; choose from lcnn, gradreg, cure")
            }
            return w
        }
        let plan = ReproductionPlan.standardSize(dataset: dataset, dataDirectory: data, seed: seed)
        var settings = plan.calibration ?? CalibrationSettings()
        settings.trainSubset = trainSubset
        settings.validationCount = validation
        settings.epochs = epochs
        settings.tolerance = tolerance / 100
        settings.samples = samples
        var runner = CalibrationRunner(base: plan.runs[0].config, settings: settings, weights: chosen)
        runner.onEvent = { print($0); fflush(nil) }
        let (train, _) = try dataset.load(directory: data, seed: seed)
        let result = try runner.run(train: train, directory: URL(fileURLWithPath: out))
        print("\n" + result.markdown)
        for w in result.weights {
            print("\(w.weight.method.rawValue): \(w.weight.symbol) = \(CalibrationResult.weight(w.chosen))"
                  + (w.withinTolerance ? "" : " (no grid weight kept accuracy within the tolerance: the paper's value is kept)"))
        }
        print("wrote \(out)/\(CalibrationRunner.fileName) and \(out)/\(CalibrationRunner.tableName)")
    }
}
