import Datasets
import NN
import TensorCore

/// A measurement of `n` samples in batches of `batchSize`, sharded over the processes of a
/// ``Communicator``: the `B = ⌈n / batchSize⌉` batches are split into contiguous ranges of
/// whole batches (``BatchShard/rows(globalBatch:rank:size:)`` applied to B), rank r measures
/// its batches `[b₀, b₁)` under their global indices — so with the random streams one process
/// would use for them — and rank 0 concatenates the parts in rank order: the one-process
/// result. Every process must make the same calls in the same order.
public struct ShardedMeasurement {
    public let communicator: any Communicator
    public let batchSize: Int

    public init(communicator: any Communicator, batchSize: Int) {
        precondition(batchSize >= 1, "ShardedMeasurement: batchSize must be ≥ 1")
        self.communicator = communicator
        self.batchSize = batchSize
    }

    /// The batches `[b₀, b₁)` of rank `rank` of `size` among the `⌈samples / batchSize⌉`.
    public static func batches(samples: Int, batchSize: Int, rank: Int, size: Int) -> Range<Int> {
        BatchShard.rows(globalBatch: (samples + batchSize - 1) / batchSize, rank: rank, size: size)
    }

    /// The samples of those batches, `[b₀·batchSize, min(b₁·batchSize, samples))`.
    public static func rows(samples: Int, batchSize: Int, rank: Int, size: Int) -> Range<Int> {
        let b = batches(samples: samples, batchSize: batchSize, rank: rank, size: size)
        return Swift.min(b.lowerBound * batchSize, samples)..<Swift.min(b.upperBound * batchSize, samples)
    }

    /// `measure(part, b₀)` on this process's part of the first `count` samples of `dataset`
    /// (all when nil), gathered on rank 0 in rank order; nil on the other ranks.
    public func parts<T: Codable>(of dataset: Dataset, count: Int? = nil,
                                  _ measure: (_ part: Dataset, _ firstBatch: Int) throws -> T) throws -> [T]? {
        let n = Swift.min(count ?? dataset.count, dataset.count)
        let (rank, size) = (communicator.rank, communicator.size)
        let rows = Self.rows(samples: n, batchSize: batchSize, rank: rank, size: size)
        let part = rows == 0..<dataset.count ? dataset : dataset.subset(Array(rows))
        let first = Self.batches(samples: n, batchSize: batchSize, rank: rank, size: size).lowerBound
        return try communicator.gather(try measure(part, first))
    }

    /// ``CurvatureSummary/evaluate(model:dataset:count:batchSize:measurement:firstBatch:)`` of the
    /// first `count` samples, on rank 0.
    public func curvature(model: any Layer, dataset: Dataset, count: Int? = nil,
                          measurement: CurvatureMeasurement = CurvatureMeasurement()) throws -> CurvatureSummary? {
        try parts(of: dataset, count: count) { part, first in
            CurvatureSummary.measure(model: model, dataset: part, batchSize: batchSize, measurement: measurement, firstBatch: first)
        }.map { CurvatureSummary(values: .concatenated($0), measurement: measurement) }
    }

    /// ``robustAccuracy(model:dataset:attack:epsilons:options:batchSize:seed:firstBatch:)`` of
    /// `dataset`, on rank 0.
    public func robustAccuracy(model: any Layer, dataset: Dataset, attack: AttackKind = .pgdL2,
                               epsilons: [Float] = AttackKind.paperEpsilons, options: AttackOptions = .init(),
                               seed: UInt64 = 0) throws -> RobustAccuracyReport? {
        try parts(of: dataset) { part, first in
            LCNNKit.robustAccuracy(model: model, dataset: part, attack: attack, epsilons: epsilons, options: options,
                                   batchSize: batchSize, seed: seed, firstBatch: first)
        }.map { RobustAccuracyReport.merged($0) }
    }

    /// Whether the model classifies each sample of `dataset` correctly (evaluation mode, in
    /// batches of `batchSize`), on rank 0.
    public func correct(model: any Layer, dataset: Dataset) throws -> SampleFlags? {
        try parts(of: dataset) { part, _ in
            SampleFlags(Trainer.evaluatePerSample(model, on: part, batchSize: batchSize).correct)
        }.map { SampleFlags($0.flatMap(\.values)) }
    }
}
