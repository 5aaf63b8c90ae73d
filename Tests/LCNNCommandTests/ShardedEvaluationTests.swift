import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

/// Sharded evaluation: parts of whole batches measured under their global batch indices and
/// merged in order equal the one-process measurement, value for value.
@Suite("ShardedEvaluation")
struct ShardedEvaluationTests {
    static var model: any Layer {
        ModelConfig(architecture: .mlp, softplusBeta: 2, inputShape: [2], classes: 2, hiddenWidths: [16, 16], seed: 3).makeModel()
    }
    static let data = TwoMoons.make(count: 27, noise: 0.1, seed: 1)
    static let measurement = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 5, seed: 4),
                                                  hutchinson: HutchinsonFrobenius(samples: 3), robustness: GradientRobustness(levels: 2))
    static let batchSize = 4

    /// The parts of `size` processes: (rows, first batch) of each rank.
    static func parts(samples: Int, size: Int) -> [(rows: Range<Int>, firstBatch: Int)] {
        (0..<size).map { r in
            (ShardedMeasurement.rows(samples: samples, batchSize: batchSize, rank: r, size: size),
             ShardedMeasurement.batches(samples: samples, batchSize: batchSize, rank: r, size: size).lowerBound)
        }
    }

    @Test("the ranks' batch ranges are contiguous, cover every batch once and cut only between batches")
    func partition() {
        for (samples, size) in [(27, 2), (27, 3), (6, 3), (1, 4), (40, 2)] {
            let p = Self.parts(samples: samples, size: size)
            #expect(p.first?.rows.lowerBound == 0 && p.last?.rows.upperBound == samples)
            for (a, b) in zip(p, p.dropFirst()) { #expect(a.rows.upperBound == b.rows.lowerBound) }
            for part in p where !part.rows.isEmpty { #expect(part.rows.lowerBound == part.firstBatch * Self.batchSize) }
        }
    }

    @Test("curvature: two parts with their batch offsets, concatenated, give exactly the one-call summary")
    func curvatureParts() throws {
        let (model, data, m) = (Self.model, Self.data, Self.measurement)
        let whole = CurvatureSummary.evaluate(model: model, dataset: data, batchSize: Self.batchSize, measurement: m)
        let values = Self.parts(samples: data.count, size: 2).map { rows, first in
            CurvatureSummary.measure(model: model, dataset: data.subset(Array(rows)), batchSize: Self.batchSize,
                                     measurement: m, firstBatch: first)
        }
        let merged = CurvatureSummary(values: .concatenated(values), measurement: m)
        #expect(merged == whole)
        #expect(merged.perSample == whole.perSample && merged.count == data.count)
        #expect(merged.frobeniusNorm != nil && merged.robustness?.count == 2)
        // The offset matters: the second part measured as if it were the first batches differs.
        let unshifted = CurvatureSummary.measure(model: model, dataset: data.subset(Array(Self.parts(samples: data.count, size: 2)[1].rows)),
                                                 batchSize: Self.batchSize, measurement: m)
        #expect(CurvatureSummary(values: .concatenated([values[0], unshifted]), measurement: m) != whole)
        let decoded = try JSONDecoder().decode(CurvatureSummary.Values.self, from: JSONEncoder().encode(values[1]))
        #expect(decoded == values[1])
    }

    @Test("robust accuracy: two parts with their batch offsets, merged, give exactly the one-call report",
          arguments: [AttackKind.pgdL2, .fgsmL2, .deepfool])
    func robustAccuracyParts(_ attack: AttackKind) {
        let (model, data) = (Self.model, Self.data)
        var options = AttackOptions(steps: 3)
        options.inputRange = nil
        let eps: [Float] = [0.1, 0.3]
        let whole = robustAccuracy(model: model, dataset: data, attack: attack, epsilons: eps, options: options,
                                   batchSize: Self.batchSize, seed: 5)
        let merged = RobustAccuracyReport.merged(Self.parts(samples: data.count, size: 2).map { rows, first in
            robustAccuracy(model: model, dataset: data.subset(Array(rows)), attack: attack, epsilons: eps, options: options,
                           batchSize: Self.batchSize, seed: 5, firstBatch: first)
        })
        #expect(merged.points == whole.points)
        #expect(merged.points.map { $0.robust?.count } == [data.count, data.count])
        #expect(merged.samples == whole.samples && merged.cleanCorrect == whole.cleanCorrect && merged.cleanAccuracy == whole.cleanAccuracy)
        #expect(merged.deepFoolSucceeded == whole.deepFoolSucceeded)
        if let a = merged.meanMinimalPerturbation, let b = whole.meanMinimalPerturbation {
            #expect(Swift.abs(a - b) <= 1e-6 * Swift.max(1, b))
        } else {
            #expect(merged.meanMinimalPerturbation == whole.meanMinimalPerturbation)
        }
        if attack != .deepfool { #expect(merged == whole) }
    }

    /// Ranks 1…size−1 run first and record what they gather; rank 0 then receives it.
    @Test("ShardedMeasurement over replayed ranks (one with no batch) equals one process", arguments: [2, 3])
    func replayedRanks(_ size: Int) throws {
        let (model, m) = (Self.model, Self.measurement)
        for data in [Self.data, Self.data.prefix(6)] {
            func run(_ communicator: any Communicator) throws -> (CurvatureSummary?, RobustAccuracyReport?, SampleFlags?) {
                let sharded = ShardedMeasurement(communicator: communicator, batchSize: Self.batchSize)
                return (try sharded.curvature(model: model, dataset: data, measurement: m),
                        try sharded.robustAccuracy(model: model, dataset: data, epsilons: [0.2], options: AttackOptions(steps: 2, inputRange: nil)),
                        try sharded.correct(model: model, dataset: data))
            }
            let others = (1..<size).map { ReplayedRank(rank: $0, size: size) }
            for rank in others {
                let r = try run(rank)
                #expect(r.0 == nil && r.1 == nil && r.2 == nil)
            }
            let root = try run(ReplayedRank(rank: 0, size: size, replay: others.map(\.sent)))
            let single = try run(SingleProcess())
            #expect(root.0 == single.0 && root.1 == single.1 && root.2 == single.2)
            #expect(root.0 == CurvatureSummary.evaluate(model: model, dataset: data, batchSize: Self.batchSize, measurement: m))
            #expect(root.2?.count == data.count)
        }
    }

    /// Runs through ``MPIProcess`` (DistributedTrainingTests): one process, or `mpirun -np 2`.
    @Test("mpirun -np 2 lcnn curvature/attack --distributed prints what one process prints",
          .enabled(if: MPIProcess.available, "needs Open MPI and an lcnn built with LCNN_MPI=1 (LCNN_MPI=1 swift build --build-tests)"),
          .timeLimit(.minutes(10)))
    func underMPI() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-sharded-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let trained = try MPIProcess.run(["train", "--dataset", "moons", "--model", "mlp", "--epochs", "1", "--no-progress",
                                          "--out", root.appendingPathComponent("run").path])
        try #require(trained.status == 0, "lcnn train failed: \(trained.output)")
        let checkpoint = root.appendingPathComponent("run/\(Trainer.lastCheckpointName)").path

        let curvature = ["curvature", "--checkpoint", checkpoint, "--samples", "40", "--batch-size", "8",
                         "--power-iterations", "5", "--frobenius", "--gradient-robustness"]
        let one = try MPIProcess.run(curvature + ["--out", root.appendingPathComponent("one").path])
        let two = try MPIProcess.run(curvature + ["--distributed", "--out", root.appendingPathComponent("two").path], processes: 2)
        try #require(one.status == 0 && two.status == 0, "lcnn curvature failed:\n\(one.output)\n\(two.output)")
        print("one process:\n\(one.output)\nmpirun -np 2 … --distributed:\n\(two.output)")
        func tables(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { !$0.hasPrefix("evaluating ") && !$0.hasPrefix("results in ") }
        }
        #expect(tables(one.output) == tables(two.output))
        #expect(two.output.contains("over 2 processes"))
        func result(_ dir: String) throws -> EvaluationResult {
            let line = try String(contentsOf: root.appendingPathComponent("\(dir)/eval.jsonl"), encoding: .utf8)
            return try JSONDecoder().decode(EvaluationResult.self, from: Data(line.utf8))
        }
        let a = try result("one"), b = try result("two")
        #expect(a.test == b.test && a.train == b.train && a.testCorrect == b.testCorrect)
        #expect(a.test?.perSample?.curvature.count == 40)
        for file in ["eval.jsonl", "eval.csv", "tables.md"] {
            #expect(try Data(contentsOf: root.appendingPathComponent("one/\(file)")) == Data(contentsOf: root.appendingPathComponent("two/\(file)")),
                    "\(file) differs")
        }

        let attack = ["attack", "--checkpoint", checkpoint, "--samples", "40", "--batch-size", "8", "--steps", "3", "--epsilons", "0.1,0.3"]
        let oneAttack = try MPIProcess.run(attack), twoAttack = try MPIProcess.run(attack + ["--distributed"], processes: 2)
        try #require(oneAttack.status == 0 && twoAttack.status == 0, "lcnn attack failed:\n\(oneAttack.output)\n\(twoAttack.output)")
        func jsonLines(_ text: String) -> [Substring] { text.split(separator: "\n").filter { $0.hasPrefix("{") } }
        #expect(jsonLines(oneAttack.output).count == 2)
        #expect(jsonLines(oneAttack.output) == jsonLines(twoAttack.output))
    }
}

/// Rank `rank` of a pretend job of `size` processes run one after another in this process:
/// every rank records the bytes it gathers; rank 0 receives the other ranks' recordings.
final class ReplayedRank: Communicator, @unchecked Sendable {
    let rank: Int, size: Int
    /// The bytes of this rank's gathers, call by call.
    private(set) var sent: [[UInt8]] = []
    /// Rank 0: the other ranks' `sent`, in rank order.
    let replay: [[[UInt8]]]

    init(rank: Int, size: Int, replay: [[[UInt8]]] = []) {
        (self.rank, self.size, self.replay) = (rank, size, replay)
    }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) { fatalError("not replayable") }
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) { fatalError("not replayable") }
    func barrier() {}
    func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        let call = sent.count
        sent.append(bytes)
        return rank == 0 ? [bytes] + replay.map { $0[call] } : nil
    }
    func abort(_ message: String) -> Never { fatalError(message) }
}
