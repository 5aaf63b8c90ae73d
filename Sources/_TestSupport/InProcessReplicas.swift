import Foundation
import TensorCore
import TensorKernels

/// `size` replicas of a data-parallel step as threads of one process: each thread holds the
/// ``ReplicaGroup`` of its rank, and `allReduceSum` blocks until every rank has contributed.
/// Lets tests run synchronised ops (batch norm over a global batch, dropout masks) without MPI.
public final class InProcessReplicas: @unchecked Sendable {
    public let size: Int
    let condition = NSCondition()
    var arrived = 0, generation = 0
    var sum: [Float] = [], result: [Float] = []

    public init(size: Int) { self.size = size }

    /// Runs `body(rank, group)` on `size` threads at once, each with the caller's kernel settings;
    /// returns the results in rank order.
    public func run<R>(_ body: @escaping @Sendable (Int, any ReplicaGroup) -> R) -> [R] {
        let results = ReplicaResults<R>(size)
        let settings = KernelSettings.current
        for rank in 0..<size {
            results.done.enter()
            let member = Member(rank: rank, replicas: self)
            Thread.detachNewThread {
                let value = KernelSettings.with(settings) { body(rank, member) }
                results.values[rank] = value   // each thread writes its own slot
                results.done.leave()
            }
        }
        results.done.wait()
        return results.values.map { $0! }
    }

    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>) {
        condition.lock()
        defer { condition.unlock() }
        let round = generation
        if arrived == 0 { sum = Array(buffer) } else { for i in buffer.indices { sum[i] += buffer[i] } }
        arrived += 1
        if arrived == size {
            (result, arrived, generation) = (sum, 0, generation + 1)
            condition.broadcast()
        } else {
            while generation == round { condition.wait() }
        }
        // No round can finish before this rank joins it, so `result` is still this round's.
        for i in buffer.indices { buffer[i] = result[i] }
    }

    final class Member: ReplicaGroup, @unchecked Sendable {
        let rank: Int
        let replicas: InProcessReplicas
        var size: Int { replicas.size }
        init(rank: Int, replicas: InProcessReplicas) { (self.rank, self.replicas) = (rank, replicas) }
        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) { replicas.allReduce(buffer) }
    }
}

/// One slot per rank, each written by its own thread.
final class ReplicaResults<R>: @unchecked Sendable {
    var values: [R?]
    let done = DispatchGroup()
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
}

/// A replica group of one process that pretends its partner holds the same values: the sum
/// doubles. For gradient checks of ops built on ``sumAcrossReplicas(_:_:)``.
public final class MirroredReplica: ReplicaGroup, @unchecked Sendable {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 2 }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) { for i in buffer.indices { buffer[i] *= 2 } }
}
