import CMPI
import Foundation
import LCNNKit

/// ``Communicator`` on `MPI_COMM_WORLD` (Open MPI from the system, `LCNN_MPI=1 swift build`).
/// Only the calls data parallelism needs: init/finalize, rank/size, in-place all-reduce (sum) of
/// floats, broadcast, barrier, and a gather of small byte strings. MPI is initialised with
/// `MPI_THREAD_FUNNELED`: the kernels' worker threads never call MPI.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let comm = lcnn_mpi_comm_world()

    /// Initialises MPI (once per process). Under `mpirun` rank and size come from the launcher;
    /// run directly, this is a job of one.
    public init() throws {
        var provided: Int32 = 0
        guard MPI_Init_thread(nil, nil, lcnn_mpi_thread_funneled(), &provided) == lcnn_mpi_success() else {
            throw MPIError("MPI_Init_thread failed")
        }
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// Ends MPI; call once, after the last collective.
    public func finalize() { MPI_Finalize() }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        check(MPI_Allreduce(lcnn_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), lcnn_mpi_float(), lcnn_mpi_sum(), comm),
              "MPI_Allreduce")
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), lcnn_mpi_float(), Int32(root), comm), "MPI_Bcast")
    }

    public func barrier() { check(MPI_Barrier(comm), "MPI_Barrier") }

    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        var count = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: rank == 0 ? size : 0)
        check(MPI_Gather(&count, 1, lcnn_mpi_int(), &counts, 1, lcnn_mpi_int(), 0, comm), "MPI_Gather")
        var offsets = [Int32](repeating: 0, count: counts.count)
        for i in counts.indices.dropFirst() { offsets[i] = offsets[i - 1] + counts[i - 1] }
        var all = [UInt8](repeating: 0, count: rank == 0 ? Int(counts.reduce(0, +)) : 0)
        var mine = bytes
        check(MPI_Gatherv(&mine, count, lcnn_mpi_byte(), &all, &counts, &offsets, lcnn_mpi_byte(), 0, comm), "MPI_Gatherv")
        guard rank == 0 else { return nil }
        return counts.indices.map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + counts[$0])]) }
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rank \(rank): \(message)\n".utf8))
        MPI_Abort(comm, 1)
        exit(1)
    }

    func check(_ code: Int32, _ call: String) {
        if code != lcnn_mpi_success() { abort("\(call) failed with MPI error \(code)") }
    }
}

public struct MPIError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
