import Foundation
import Testing
import TensorCore
import _TestSupport

/// The tensor-level pieces of data parallelism: the cross-replica sum and its rule, batch norm
/// over a global batch split across replicas, and dropout masks cut from the global batch's —
/// each compared with one process holding the whole batch.
@Suite("Data parallelism: cross-replica ops")
struct DataParallelTests {
    @Test("sumAcrossReplicas is correct to first and second order (a rule that forgot the other replicas would fail)")
    func crossReplicaSumGradients() {
        let group = MirroredReplica()
        let x = Fixtures.normal([3, 4], seed: 41)
        let check = GradCheck()
        let first = check.firstOrder([x]) { sumAcrossReplicas($0[0], group) }
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = check.secondOrder([x]) { sumAcrossReplicas($0[0] * $0[0], group) * $0[0] }
        #expect(GradCheck.allPassed(second), "\(second)")
    }

    @Test("rows of a global batch: contiguous, near-equal, covering it", arguments: [(10, 3), (128, 2), (5, 5), (7, 2)])
    func shardRows(_ batch: Int, _ size: Int) {
        let parts = (0..<size).map { BatchShard.rows(globalBatch: batch, rank: $0, size: size) }
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == batch)
        for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        #expect((parts.map(\.count).max() ?? 0) - (parts.map(\.count).min() ?? 0) <= 1)
    }

    /// Batch norm (training) of rows `rows` of `x` on replica `rank`, with loss ⟨y, c⟩ and the
    /// GradReg-style penalty ‖∇ₓ⟨y, c⟩‖²; returns y, ∂penalty/∂x, ∂(loss + penalty)/∂(w, b) and the running mean.
    static func replicaStep(_ x: Tensor, _ c: Tensor, _ w: Tensor, _ b: Tensor, rows: Range<Int>, shard: BatchShard?) -> [Tensor] {
        let xs = x.sliced(axis: 0, rows).requiringGrad(), cs = c.sliced(axis: 0, rows)
        let (wc, bc) = (w.copy().requiringGrad(), b.copy().requiringGrad())
        let runningMean = Tensor.zeros([x.shape[1]]), runningVar = Tensor.ones([x.shape[1]])
        func body() -> [Tensor] {
            let y = batchNorm(xs, runningMean: runningMean, runningVar: runningVar, weight: wc, bias: bc, training: true)
            let loss = (y * cs).sum()
            let gx = gradients(of: loss, wrt: [xs], createGraph: true)[0]
            let penalty = (gx * gx).sum()
            let grads = gradients(of: loss + penalty, wrt: [xs, wc, bc])
            return [y.detached(), grads[0], grads[1], grads[2], runningMean.copy(), runningVar.copy()]
        }
        guard let shard else { return body() }
        return BatchShard.$current.withValue(shard) { body() }
    }

    @Test("batch norm over two replicas equals one process: outputs, input gradients, second-order (GradReg) terms, weight gradients, running statistics",
          arguments: [[6, 3, 2, 2], [5, 4]])
    func synchronisedBatchNorm(_ shape: [Int]) {
        let x = Fixtures.normal(shape, seed: 51), c = Fixtures.normal(shape, seed: 52)
        let w = Fixtures.normal([shape[1]], seed: 53), b = Fixtures.normal([shape[1]], seed: 54)
        let whole = Self.replicaStep(x, c, w, b, rows: 0..<shape[0], shard: nil)
        let replicas = InProcessReplicas(size: 2)
        let parts = replicas.run { rank, group in
            let rows = BatchShard.rows(globalBatch: shape[0], rank: rank, size: 2)
            return (rows, Self.replicaStep(x, c, w, b, rows: rows, shard: BatchShard(group: group, rows: rows, globalBatch: shape[0])))
        }
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = max(1, a.map(abs).max() ?? 0)
            let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(a.count == b.count && error <= 1e-4 * scale, "\(what): error \(error), scale \(scale)")
        }
        for (rows, values) in parts {
            close(whole[0].sliced(axis: 0, rows).scalars, values[0].scalars, "y rows \(rows)")
            close(whole[1].sliced(axis: 0, rows).scalars, values[1].scalars, "∂x rows \(rows)")
            close(whole[4].scalars, values[4].scalars, "running mean")
            close(whole[5].scalars, values[5].scalars, "running variance")
        }
        // Parameter gradients: each replica holds its rows' share; their sum is the whole batch's.
        for (k, name) in [(2, "∂weight"), (3, "∂bias")] {
            close(whole[k].scalars, zip(parts[0].1[k].scalars, parts[1].1[k].scalars).map { $0 + $1 }, name)
        }
    }

    @Test("dropout on a replica draws its rows of the global batch's mask and leaves the generator where one process would",
          arguments: [([7, 5], 2), ([7, 5], 3), ([5, 3, 7, 7], 2), ([4, 70_001], 2), ([4, 70_001], 3)])
    func dropoutRows(_ shape: [Int], _ size: Int) {
        // Rows of 5, 147 and 70 001 elements: every replica but the first starts mid-vector
        // (its first index is not a multiple of 8); the 70 001-element rows run on several threads.
        let x = Fixtures.normal(shape, seed: 61)
        let batch = shape[0]
        var g = SeededGenerator(seed: 9)
        let whole = dropout(x, probability: 0.5, training: true, generator: &g)
        let after = g.next()
        let replicas = InProcessReplicas(size: size)
        let parts = replicas.run { rank, group in
            let rows = BatchShard.rows(globalBatch: batch, rank: rank, size: size)
            var local = SeededGenerator(seed: 9)
            let y = BatchShard.$current.withValue(BatchShard(group: group, rows: rows, globalBatch: batch)) {
                dropout(x.sliced(axis: 0, rows), probability: 0.5, training: true, generator: &local)
            }
            return (rows, y.scalars, local.next())
        }
        let wholeScalars = whole.scalars
        let mixed = wholeScalars.contains(0) && wholeScalars.contains { $0 != 0 }
        #expect(mixed)
        for (rows, values, next) in parts {
            let same = values == whole.sliced(axis: 0, rows).scalars   // not inside #expect: 10⁵ values
            #expect(same, "rows \(rows): not the global mask's rows")
            #expect(next == after, "rows \(rows)")
        }
        // Without a shard the same rows would get the mask of a batch of their own (rows from 0).
        var unsharded = SeededGenerator(seed: 9)
        let last = BatchShard.rows(globalBatch: batch, rank: size - 1, size: size)
        let alone = dropout(x.sliced(axis: 0, last), probability: 0.5, training: true, generator: &unsharded)
        let differs = alone.scalars != whole.sliced(axis: 0, last).scalars
        #expect(differs)
    }
}
