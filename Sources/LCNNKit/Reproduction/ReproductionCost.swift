import Datasets
import Foundation
import NN
import TensorCore

/// The estimated wall time of a reproduction, printed before it starts.
///
/// One Standard training step is timed on this machine (after a warm-up step); every other
/// cost is that step times a factor: the per-step cost of each method relative to Standard
/// (`lcnn bench methods`, SmallCNN, BENCHMARKS.md "Training cost per method"), and for the
/// measurements the number of sample-gradients they take (a Hessian-vector product costs about
/// as much as a GradReg step, 2.2 Standard steps; a PGD step about one).
public struct ReproductionCost: Sendable {
    /// Seconds of one Standard training step at the plan's batch size.
    public var standardStep: Double
    public var calibration: Double
    public var training: Double
    public var measurement: Double
    public var total: Double { calibration + training + measurement }

    /// Per-step cost relative to Standard, measured on SmallCNN.
    public static func stepFactor(_ method: TrainingMethod) -> Double {
        switch method {
        case .standard: return 1
        case .lcnn: return 1.09
        case .gradreg: return 2.22
        case .lcnnGradreg: return 2.42
        case .cure: return 4.57
        case .softplusWD: return 0.98
        case .adversarial: return 3.42
        }
    }

    /// Times one Standard step of `config`'s model on random inputs of `sampleShape`.
    public static func measureStandardStep(_ config: TrainConfig, sampleShape: [Int], classes: Int) throws -> Double {
        var c = config
        c.method = .standard
        c.activation = nil
        var generator = SeededGenerator(seed: 1)
        let batch = config.dataset == .moons ? min(config.batchSize, config.moonsCount) : config.batchSize
        let images = Tensor.uniform([batch] + sampleShape, generator: &generator)
        let labels = (0..<batch).map { $0 % max(classes, 1) }
        let data = Dataset(name: "timing", images: images, labels: labels, classes: classes)
        c.trainSubset = nil
        c.testSubset = nil
        c.epochs = 3   // one batch per epoch: the first is a warm-up
        let history = try Trainer(config: c, train: data, test: data, outputDirectory: nil).run()
        return history.dropFirst().map(\.trainSeconds).min() ?? 0
    }

    /// The estimate for `plan` on training / test sets of the given sizes.
    public static func estimate(_ plan: ReproductionPlan, trainCount: Int, testCount: Int, standardStep: Double) -> ReproductionCost {
        func steps(_ images: Int, _ batch: Int) -> Double { Double((images + batch - 1) / max(batch, 1)) }
        var cost = ReproductionCost(standardStep: standardStep, calibration: 0, training: 0, measurement: 0)
        let batch = plan.runs.first?.config.batchSize ?? 128
        if let c = plan.calibration, !plan.calibratedWeights.isEmpty {
            let perRun = steps(c.trainSubset, batch) * Double(c.epochs) * standardStep
            cost.calibration = perRun * (1 + plan.calibratedWeights.reduce(0) { sum, w in
                sum + Double(c.grid(w).count) * stepFactor(w.method)
            })
        }
        for run in plan.runs {
            let images = min(run.config.trainSubset ?? trainCount, trainCount)
            cost.training += steps(images, run.config.batchSize) * Double(run.config.epochs) * standardStep * stepFactor(run.config.method)
        }
        let e = plan.evaluation
        let perSample = standardStep / Double(batch)
        let samples = Double(min(e.samples, testCount))
        let curvature = 2 * samples * Double(e.powerIterations + 2) * 2.2 * perSample
        let attacks = samples * Double(e.epsilons.count) * Double(10 + 1) * perSample
        cost.measurement = Double(plan.runs.count) * (curvature + attacks)
        if e.calibrateEpsilons { cost.measurement += Double(e.sweepSamples) * 15 * 11 * perSample }
        if let audit = plan.audit, audit.autoAttackSamples > 0 {
            // APGD-CE on every sample, APGD-T's 9 targets on the ~half still robust, FAB-T's 9
            // targets (a gradient and a forward pass, ≈ 4/3 of a gradient, per iteration) and
            // Square's forward-only queries (≈ ⅓ of a gradient) on the ~40 % left.
            let n = Double(min(audit.autoAttackSamples, e.samples, testCount))
            let apgd = n * Double(audit.apgdIterations + 1) * (1 + 9 * 0.5)
            let fab = audit.sequence.contains("fab-t") ? n * 0.4 * 9 * Double(audit.apgdIterations) * 4 / 3 : 0
            let gradients = apgd + fab + n * 0.4 * Double(audit.squareQueries) / 3
            cost.measurement += Double(plan.runs.count) * gradients * perSample
        }
        return cost
    }

    /// "about 38 min (calibration 6, training 23, measurements 9)".
    public var summary: String {
        func minutes(_ s: Double) -> String { s < 90 ? String(format: "%.0f s", s) : String(format: "%.0f min", s / 60) }
        return "about \(minutes(total)) (calibration \(minutes(calibration)), training \(minutes(training)), "
            + "measurements \(minutes(measurement)); one Standard step took \(String(format: "%.0f", 1000 * standardStep)) ms here)"
    }
}
