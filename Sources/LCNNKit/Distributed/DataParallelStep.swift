import Datasets
import Foundation
import NN
import TensorCore

/// One optimiser step of data-parallel training on this process's rows of a global batch.
///
/// Every process draws the same global batch (same loader seed) and keeps rows
/// ``BatchShard/rows(globalBatch:rank:size:)``: bᵣ of B. The global objective is
///
///     L = Σᵣ (bᵣ/B)·Lᵣ,
///
/// Lᵣ the method's objective on the rows (cross-entropy and gradient penalties are means over
/// the rows; the LCNN penalty is the same on every process, so the weights sum it to itself).
/// Each process runs backward on (bᵣ/B)·Lᵣ and the parameter gradients are summed across
/// processes in one fused all-reduce, so every process applies ∇L and the weights stay equal.
/// Batch norm uses the global batch's statistics (``sumAcrossReplicas``: SyncBatchNorm) and
/// dropout the global batch's mask, so N processes compute what one process computes on the
/// whole batch, up to the order of floating-point sums. Per-sample input gradients (GradReg,
/// CURE) are exact: the backward pass through the shared statistics sums every process's terms.
/// Adversarial training's random starts come from a per-process stream.
///
/// A global batch with fewer rows than processes (the last of an epoch) is skipped by all.
struct DataParallelStep {
    let images: Tensor
    let labels: [Int]
    let shard: BatchShard?
    let communicator: any Communicator
    /// bᵣ / B.
    let weight: Double

    /// This process's part of `batch`; nil when the batch cannot give every process a row.
    init?(batch: DataLoader.Batch, communicator: any Communicator) {
        self.communicator = communicator
        let size = communicator.size
        guard size > 1 else {
            (images, labels, shard, weight) = (batch.images, batch.labels, nil, 1)
            return
        }
        guard batch.count >= size else { return nil }
        let rows = BatchShard.rows(globalBatch: batch.count, rank: communicator.rank, size: size)
        images = batch.images.sliced(axis: 0, rows)
        labels = Array(batch.labels[rows])
        shard = BatchShard(group: communicator, rows: rows, globalBatch: batch.count)
        weight = Double(rows.count) / Double(batch.count)
    }

    /// Runs `body` (the forward pass) with this step's shard active.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        guard let shard else { return try body() }
        return try BatchShard.$current.withValue(shard) { try body() }
    }

    /// The objective's terms, total and correct count over the global batch (one all-reduce).
    func globalScalars(_ value: ObjectiveValue) -> (terms: [Double], total: Double, correct: Int) {
        let correct = zip(value.logits.argmax(axis: 1), labels).filter { $0 == $1 }.count
        let local = value.terms.map { Double($0.value.item) } + [Double(value.total.item)]
        guard shard != nil else { return (Array(local.dropLast()), local.last!, correct) }
        let summed = communicator.sum(local.map { $0 * weight } + [Double(correct)])
        return (Array(summed.prefix(local.count - 1)), summed[local.count - 1], Int(summed[local.count].rounded()))
    }

    /// Backward pass of (bᵣ/B)·total.
    func backward(_ total: Tensor) {
        guard shard != nil else { return total.backward() }
        (total * Float(weight)).backward()
    }

    /// Sums the parameters' gradients across processes in one call; returns its seconds. Every
    /// process built the same graph, so the same parameters have a gradient everywhere; those
    /// without one stay without (the optimiser skips them, as in one process).
    func allReduceGradients(_ parameters: [Tensor]) -> Double {
        guard shard != nil else { return 0 }
        let start = Date()
        communicator.allReduceSum(parameters.compactMap(\.grad))
        return Date().timeIntervalSince(start)
    }

    /// Mean cross-entropy and accuracy on `dataset`, each process measuring a contiguous part.
    static func evaluate(_ model: any Layer, on dataset: Dataset, communicator: any Communicator) -> (loss: Double, accuracy: Double) {
        let rows = BatchShard.rows(globalBatch: dataset.count, rank: communicator.rank, size: communicator.size)
        let part = dataset.subset(Array(rows), name: dataset.name)
        let (loss, correct) = rows.isEmpty ? (0, []) : Trainer.evaluatePerSample(model, on: part)
        let sums = communicator.sum([loss * Double(rows.count), Double(correct.filter { $0 }.count)])
        let n = Double(max(dataset.count, 1))
        return (sums[0] / n, sums[1] / n)
    }

    /// A per-process offset of the random streams that must differ between processes
    /// (adversarial training's random starts); 0 on rank 0, so one process keeps its stream.
    static func streamOffset(rank: Int) -> UInt64 {
        rank == 0 ? 0 : UInt64(rank) &* 0xA24B_AED4_963E_E407
    }
}
