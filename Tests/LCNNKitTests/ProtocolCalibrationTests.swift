import Foundation
import LCNNKit
import NN
import Testing

/// The protocol steps that set what the paper set for CIFAR-100 from the data at hand: the
/// regularisation weights (SPEC S1) and the ε grid (S2); and the per-sample records they rest on.
@Suite("Protocol calibration")
struct ProtocolCalibrationTests {
    typealias Row = (weight: Float, accuracy: Double)

    @Test("the rule picks the largest weight within the tolerance of Standard's accuracy")
    func calibrationRule() throws {
        // Standard 0.900; tolerance 1 point: 1e-1 (0.893) qualifies, 1 (0.850) does not.
        let table: [Row] = [(1e-3, 0.902), (1e-2, 0.899), (1e-1, 0.893), (1, 0.850), (10, 0.500)]
        let pick = try #require(CalibrationRule.choose(table, reference: 0.900, tolerance: 0.01))
        #expect(pick.weight == 1e-1 && pick.withinTolerance)
        // A tighter tolerance moves the choice down; the order of the rows does not matter.
        #expect(CalibrationRule.choose(table.reversed(), reference: 0.900, tolerance: 0.002)?.weight == 1e-2)
        // Not monotone: a large weight that happens to keep accuracy is still "the largest that did not affect it".
        let bumpy: [Row] = [(1e-3, 0.90), (1e-2, 0.87), (1e-1, 0.895)]
        #expect(CalibrationRule.choose(bumpy, reference: 0.90, tolerance: 0.01)?.weight == 1e-1)
        // None within the tolerance: the smallest (the paper's value) is kept, and flagged.
        let none = try #require(CalibrationRule.choose([(1e-3, 0.80), (1e-2, 0.70)], reference: 0.9, tolerance: 0.01))
        #expect(none.weight == 1e-3 && !none.withinTolerance)
        #expect(CalibrationRule.choose([], reference: 0.9, tolerance: 0.01) == nil)
    }

    @Test("the LCNN penalty's drift bound: the paper's own D ≈ 6, λβ ≤ 4.1e-3 at the default size, and the rule respects it")
    func penaltyDrift() throws {
        // 391 steps × (150·0.1 + 25·0.01 + 25·0.001) / (1 − 0.9) × 1e-4.
        #expect(Swift.abs(PenaltyDrift.paperDrift / (1e-4 * 391 * 15.275 / 0.1) - 1) < 1e-6)   // Float learning rates
        var c = TrainConfig()   // SmallCNN, lr 0.1, momentum 0.9, multistep, batch 128
        c.epochs = 5
        // 469 steps × (3·0.1 + 0.01 + 0.001) / 0.1 = 1458.6
        #expect(Swift.abs(PenaltyDrift.stepSum(c, trainCount: 60_000) / (469 * 0.311 / 0.1) - 1) < 1e-6)
        let cap = PenaltyDrift.maximumBetaWeight(for: c, trainCount: 60_000)
        #expect(cap > 4e-3 && cap < 4.2e-3, "\(cap)")
        // The default size's calibration table: 1e-1 kept accuracy in 2-epoch runs but is above the cap.
        let table: [Row] = [(1e-4, 0.8076), (1e-3, 0.8060), (1e-2, 0.8030), (1e-1, 0.7744), (1, 0.7250)]
        #expect(CalibrationRule.choose(table, reference: 0.7708, tolerance: 0.01)?.weight == 1e-1)
        let capped = try #require(CalibrationRule.choose(table, reference: 0.7708, tolerance: 0.01, cap: cap))
        #expect(capped.weight == 1e-3 && capped.withinTolerance)
        // The paper's own run sits exactly at its bound; a longer run tightens it.
        var paper = c
        paper.epochs = 200
        #expect(Swift.abs(Double(PenaltyDrift.maximumBetaWeight(for: paper, trainCount: 50_000)) / 1e-4 - 1) < 1e-6)
    }

    @Test("calibrated weights land in the right configurations (LCNN + GradReg takes both)")
    func applyWeights() {
        var lcnnGradreg = TrainConfig(), standard = TrainConfig(), cure = TrainConfig()
        lcnnGradreg.method = .lcnnGradreg
        cure.method = .cure
        for weight in CalibratedWeight.allCases {
            let value: Float = weight == .lcnn ? 1e-2 : 0.5
            weight.apply(value, to: &lcnnGradreg)
            weight.apply(value, to: &standard)
            weight.apply(value, to: &cure)
        }
        #expect(lcnnGradreg.objective.penalty == LCNNPenalty(form: .paper, betaWeight: 1e-2, gammaWeight: Float(1e-2) / 10))
        #expect(lcnnGradreg.objective.gradientPenaltyWeight == 0.5 && lcnnGradreg.objective.cureWeight == 1e-3)
        #expect(standard == TrainConfig())
        #expect(cure.objective.cureWeight == 0.5 && cure.objective.gradientPenaltyWeight == 1e-3)
        #expect(CalibratedWeight.allCases.allSatisfy { $0.defaultGrid.first == $0.paperValue })
    }

    @Test("ε½: log-linear interpolation at the first crossing of half the clean accuracy; grid ε½·{½, 1, 1½, 2}")
    func halfRadius() throws {
        typealias P = EpsilonCalibration.Point
        let sweep = [P(epsilon: 0.1, robustAccuracy: 0.85), P(epsilon: 0.2, robustAccuracy: 0.6), P(epsilon: 0.4, robustAccuracy: 0.3),
                     P(epsilon: 0.8, robustAccuracy: 0.05)]
        // Clean 0.9: half is 0.45, halfway (in accuracy) between 0.2 and 0.4 → √(0.2·0.4) in log ε.
        let half = try #require(EpsilonCalibration.halfRadius(sweep, cleanAccuracy: 0.9))
        #expect(abs(half - (0.2 * 0.4 as Float).squareRoot()) < 1e-5)
        #expect(EpsilonCalibration.grid(halfRadius: half) == [0.14, 0.28, 0.42, 0.57])
        #expect(EpsilonCalibration.grid(halfRadius: 0.1) == [0.05, 0.1, 0.15, 0.2])   // the paper's grid
        // Already below half at the first radius: that radius; never below half: nil (the paper's grid is kept).
        #expect(EpsilonCalibration.halfRadius([P(epsilon: 0.05, robustAccuracy: 0.2)], cleanAccuracy: 0.9) == 0.05)
        #expect(EpsilonCalibration.halfRadius(Array(sweep.prefix(2)), cleanAccuracy: 0.9) == nil)
        #expect(EpsilonCalibration.halfRadius(sweep, cleanAccuracy: 0) == nil)
        let radii = EpsilonCalibration.sweepRadii(start: 0.05, stop: 8)
        #expect(radii.first == 0.05 && radii.count == 15 && radii.last! <= 8)
    }

    @Test("per-sample flags encode as one 0/1 string and refuse anything else")
    func sampleFlags() throws {
        let flags = SampleFlags([true, false, false, true, true])
        let data = try JSONEncoder().encode(flags)
        #expect(String(decoding: data, as: UTF8.self) == "\"10011\"")
        #expect(try JSONDecoder().decode(SampleFlags.self, from: data) == flags)
        #expect(flags.trueCount == 3)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SampleFlags.self, from: Data("\"10x1\"".utf8)) }
    }

    @Test("seeds: replicates are named, seeded and grouped; --only selects a run with its replicates")
    func replicates() throws {
        let plan = try ReproductionPlan.small().only(["standard", "lcnn"]).replicated(seeds: 3)
        #expect(plan.runs.map(\.name) == ["standard", "standard-seed1", "standard-seed2", "lcnn", "lcnn-seed1", "lcnn-seed2"])
        #expect(plan.runs.map(\.config.seed) == [0, 1, 2, 0, 1, 2] && plan.seeds == 3)
        #expect(try plan.only(["lcnn"]).runs.count == 3)
        #expect(try plan.replicated(seeds: 1).runs.map(\.name) == ["standard", "lcnn"])
        #expect(throws: ReproductionError.self) { try plan.replicated(seeds: 0) }
        try plan.validate()
    }

    @Test("the default size trains the whole training set and measures at least 1,000 samples; small is smaller")
    func sizes() {
        let standard = ReproductionPlan.standardSize(), small = ReproductionPlan.small()
        #expect(standard.runs.allSatisfy { $0.config.trainSubset == nil && $0.config.epochs == 5 })
        #expect(standard.evaluation.samples >= 1000 && standard.evaluation.calibrateEpsilons && standard.calibration != nil)
        #expect(small.runs.allSatisfy { ($0.config.trainSubset ?? .max) < 60000 } && small.evaluation.samples < 1000)
        #expect(small.size == .small && standard.size == .default && ReproductionPlan.full().size == .full)
        let cost = ReproductionCost.estimate(standard, trainCount: 60000, testCount: 10000, standardStep: 0.06)
        let smallCost = ReproductionCost.estimate(small, trainCount: 60000, testCount: 10000, standardStep: 0.06)
        #expect(cost.total > smallCost.total && cost.training > cost.calibration && smallCost.total > 0)
        // Standard's 5 epochs of 469 steps at 60 ms: 141 s, and the other seven methods 15.8 times that again.
        #expect(abs(cost.training - 0.06 * 469 * 5 * (1 + 1.09 + 2.22 + 2.42 + 4.57 + 0.98 + 3.42 + 1.09)) < 1e-6)
    }

    @Test("a weight whose short run diverges is recorded as diverged, never chosen, and the calibration goes on")
    func divergingWeight() throws {
        let dir = TrainFixtures.temporaryDirectory("calibration-diverge")
        defer { try? FileManager.default.removeItem(at: dir) }
        var base = TrainFixtures.moonsConfig(.standard, epochs: 2)
        base.moonsCount = 300
        // λ = 10³⁰ on the squared input-gradient norm: the first update throws the weights past Float's range.
        let settings = CalibrationSettings(trainSubset: 100, validationCount: 60, epochs: 2, samples: 8, powerIterations: 2,
                                           grids: ["gradreg": [1e-3, 1e30]])
        var runner = CalibrationRunner(base: base, settings: settings, weights: [.gradreg])
        var lines: [String] = []
        runner.onEvent = { lines.append($0) }
        let train = TrainFixtures.moons(300, seed: 1)
        let result = try runner.run(train: train, directory: dir)
        let points = try #require(result.weights.first?.points)
        #expect(points.count == 2)
        #expect(points[0].diverged == nil && points[0].accuracy > 0.5)
        let diverged = try #require(points[1].diverged, "λ = 1e30 should diverge: \(points[1])")
        #expect(diverged.contains("diverged") && points[1].accuracy == 0)
        #expect(result.weights[0].chosen == 1e-3)
        #expect(result.markdown.contains("diverged"))
        #expect(lines.contains { $0.contains("1e+30") || $0.contains("diverged") })
        // The stored calibration decodes again (NaN G1 and C included) and is reused.
        let again = try runner.run(train: train, directory: dir)
        #expect(again == result || (again.weights[0].chosen == result.weights[0].chosen && again.weights[0].points[1].diverged != nil))
    }

    /// The small plan on 200 two-moons points, 2 epochs of batch 32 at a constant lr 0.05, with `runs`.
    static func tinyMoonsPlan(_ runs: [String]) throws -> ReproductionPlan {
        try ReproductionPlan.small(dataset: .moons, seed: 3).only(runs).mapConfigs {
            $0.epochs = 2
            $0.moonsCount = 200
            $0.batchSize = 32
            $0.learningRate = 0.05
            $0.schedule = .constant
        }
    }

    @Test("a run that diverges does not end the reproduction: it is reported, not measured without a checkpoint, and not retrained")
    func divergedRun() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-diverged")
        defer { try? FileManager.default.removeItem(at: dir) }
        var plan = try Self.tinyMoonsPlan(["standard", "gradreg"])
        plan = plan.mapConfigs { if $0.method == .gradreg { $0.objective.gradientPenaltyWeight = 1e30 } }   // diverges at its first step
        plan.calibration = nil
        plan.evaluation = ReproductionEvaluation(samples: 16, batchSize: 16, powerIterations: 3, epsilons: [0.1, 0.2])
        var notes: [String] = []
        let reproduction = Reproduction(plan: plan, outputPath: dir.path)
        reproduction.onEvent = { if case .note(let line) = $0 { notes.append(line) } }
        let outcome = try reproduction.run(figures: { _ in [] })
        #expect(outcome.runs.map(\.name) == ["standard"])
        #expect(notes.contains { $0.contains("[gradreg]") && $0.contains("not measured") }, "\(notes)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/gradreg/diverged.txt").path))
        notes.removeAll()
        _ = try reproduction.run(figures: { _ in [] })
        #expect(notes.contains { $0.contains("[gradreg]") && $0.contains("not trained again") }, "\(notes)")
    }

    @Test("a tiny reproduction calibrates its weights and ε, trains adversarially at the calibrated radius, and reuses the calibration")
    func tinyProtocol() throws {
        let dir = TrainFixtures.temporaryDirectory("repro-calibration")
        defer { try? FileManager.default.removeItem(at: dir) }
        var plan = try Self.tinyMoonsPlan(["standard", "lcnn", "adversarial"])
        plan.calibration = CalibrationSettings(trainSubset: 100, validationCount: 60, epochs: 2, samples: 10, powerIterations: 2,
                                               grids: ["lcnn": [1e-4, 1e-2]])
        plan.evaluation = ReproductionEvaluation(samples: 16, batchSize: 16, powerIterations: 3, calibrateEpsilons: true, sweepSamples: 30)
        var notes: [String] = []
        let reproduction = Reproduction(plan: plan, outputPath: dir.path)
        reproduction.onEvent = { if case .note(let line) = $0 { notes.append(line) } }
        let outcome = try reproduction.run(figures: { _ in [] })

        let calibration = try #require(outcome.calibration)
        #expect(calibration.weights.map(\.weight) == [.lcnn] && calibration.weights[0].points.count == 2)
        #expect([Float(1e-4), 1e-2].contains(calibration.weights[0].chosen))
        let lcnn = try #require(outcome.run(named: "lcnn"))
        #expect(lcnn.config.objective.penalty.betaWeight == calibration.weights[0].chosen)
        #expect(outcome.epsilonCalibration.map(\.attack) == [.pgdL2, .fgsmLinf])
        let grid = outcome.plan.evaluation.epsilons
        #expect(grid == outcome.epsilonCalibration[0].grid && grid.count == 4)
        #expect(outcome.run(named: "adversarial")?.config.objective.adversarialEpsilon == grid[1])
        #expect(outcome.runs.allSatisfy { $0.result.pgd?.points.map(\.epsilon) == grid && !$0.millisecondsPerStep.isEmpty })
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("calibration/calibration.json").path))
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("Regularisation weights") && report.contains("### ε grid") && report.contains("borne out"))
        #expect(notes.contains { $0.hasPrefix("calibration: lcnn") })

        // A second run reuses the stored calibration (no short run is trained again) and every run.
        notes.removeAll()
        let again = try reproduction.run(figures: { _ in [] })
        #expect(!notes.contains { $0.hasSuffix("…") && $0.hasPrefix("calibration:") })
        #expect(again.runs.allSatisfy { !$0.trained } && again.calibration == outcome.calibration)
    }
}
