/// Data parallelism at the tensor level: processes ("replicas") that each hold a shard of one
/// global batch, and the two things an op must do differently there — batch statistics over the
/// global batch (``batchNorm(_:runningMean:runningVar:weight:bias:training:momentum:epsilon:)``)
/// and dropout masks cut from the global batch's (``dropout(_:probability:training:generator:)``)
/// — so that N replicas compute exactly what one process computes on the whole batch, up to the
/// order of floating-point sums.

/// Processes that can sum a buffer elementwise across themselves (an MPI communicator, or one
/// process alone). Every replica must make the same calls in the same order.
public protocol ReplicaGroup: AnyObject, Sendable {
    /// This process's index, 0..<size.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `buffer` on every replica by the elementwise sum of all replicas' buffers.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
}

/// This process's part of a global batch: rows `rows` of a batch of `globalBatch` samples,
/// the other rows held by the other replicas of `group`. Set with
/// `BatchShard.$current.withValue(shard) { … }` around a training step.
public struct BatchShard: Sendable {
    public let group: any ReplicaGroup
    public let rows: Range<Int>
    public let globalBatch: Int

    public init(group: any ReplicaGroup, rows: Range<Int>, globalBatch: Int) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= globalBatch, "BatchShard: rows \(rows) outside 0..<\(globalBatch)")
        self.group = group
        self.rows = rows
        self.globalBatch = globalBatch
    }

    /// The shard of the current step, if data-parallel training is on.
    @TaskLocal public static var current: BatchShard?

    /// The active shard when it applies to a tensor of leading dimension `batch` and there is
    /// more than one replica: an op on other data (a test batch, a single sample) stays local.
    public static func applying(toBatch batch: Int) -> BatchShard? {
        guard let shard = current, shard.group.size > 1, shard.rows.count == batch else { return nil }
        return shard
    }

    /// Rows `[lowerBound, upperBound)` of the global batch on replica `rank` of `size`: contiguous
    /// and as equal as possible (the first `globalBatch % size` replicas get one more).
    public static func rows(globalBatch: Int, rank: Int, size: Int) -> Range<Int> {
        let base = globalBatch / size, extra = globalBatch % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}

/// The elementwise sum of `x` over the replicas of `group` (every replica gets it). Linear, so
/// its rule is itself: the gradient of replica r's input is the sum over replicas of the
/// gradients arriving at their outputs — which is how one replica's loss reaches the batch
/// statistics every other replica used.
public func sumAcrossReplicas(_ x: Tensor, _ group: any ReplicaGroup) -> Tensor {
    let out = withoutGrad { x.copy() }
    out.withUnsafeMutableBufferPointer { group.allReduceSum($0) }
    return Tensor.record(out, op: .sumAcrossReplicas, inputs: [x]) { c in [sumAcrossReplicas(c.gradOutput, group)] }
}
