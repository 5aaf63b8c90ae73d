import Foundation
import TensorCore

/// The collective operations data-parallel training and sharded evaluation use, on top of the
/// elementwise sum of ``ReplicaGroup``: the MPI binding (`LCNNMPI`, built with `LCNN_MPI=1`)
/// implements them on an MPI communicator, ``SingleProcess`` for one process. Every process
/// must make the same calls in the same order (MPI's rule for collectives).
public protocol Communicator: ReplicaGroup {
    /// Replaces `buffer` on every process by rank `root`'s.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int)
    /// Waits until every process has called it.
    func barrier()
    /// Every process's bytes, in rank order, on rank 0; nil on the others.
    func gather(_ bytes: [UInt8]) -> [[UInt8]]?
    /// Ends every process of the job with `message` on standard error.
    func abort(_ message: String) -> Never
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// `values` summed over the processes (for a few scalars: losses, counts).
    public func sum(_ values: [Double]) -> [Double] {
        guard size > 1 else { return values }
        // Doubles travel as pairs of floats (hi + lo) so that counts up to 2^48 stay exact.
        var buffer = values.flatMap { v -> [Float] in let hi = Float(v); return [hi, Float(v - Double(hi))] }
        buffer.withUnsafeMutableBufferPointer { allReduceSum($0) }
        return (0..<values.count).map { Double(buffer[2 * $0]) + Double(buffer[2 * $0 + 1]) }
    }

    /// Sums `tensors` over the processes in one call: they are packed into one buffer, reduced
    /// and unpacked (one collective per step, not one per tensor).
    public func allReduceSum(_ tensors: [Tensor]) {
        guard size > 1 else { return }
        Self.packed(tensors) { allReduceSum($0) }
    }

    /// Replaces `tensors` on every process by rank `root`'s, in one call.
    public func broadcast(_ tensors: [Tensor], root: Int = 0) {
        guard size > 1 else { return }
        Self.packed(tensors) { broadcast($0, root: root) }
    }

    /// Copies `tensors` into one contiguous buffer, runs `body` on it and copies the result back.
    static func packed(_ tensors: [Tensor], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        guard !tensors.isEmpty else { return }
        var buffer = [Float](repeating: 0, count: tensors.reduce(0) { $0 + $1.count })
        buffer.withUnsafeMutableBufferPointer { all in
            var offset = 0
            for t in tensors {
                t.withUnsafeMutableBufferPointer { src in
                    _ = UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + src.count)]).initialize(from: src)
                }
                offset += t.count
            }
            body(all)
            offset = 0
            for t in tensors {
                t.withUnsafeMutableBufferPointer { dst in
                    _ = dst.initialize(from: UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + dst.count)]))
                }
                offset += t.count
            }
        }
    }

    /// Every process's `value` (JSON-encoded) in rank order on rank 0; nil on the others.
    public func gather<T: Codable>(_ value: T) throws -> [T]? {
        let parts = gather(Array(try JSONEncoder().encode(value)))
        return try parts?.map { try JSONDecoder().decode(T.self, from: Data($0)) }
    }
}

/// One process alone: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {}
    public func barrier() {}
    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes] }
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        exit(1)
    }
}
