import ArgumentParser
import Foundation
import LCNNKit
import TensorKernels
#if LCNN_MPI
import LCNNMPI
#endif

/// `--distributed`: the commands' processes under `mpirun -np N` (README "Running on a cluster").
/// Only an `lcnn` built with `LCNN_MPI=1` has MPI; the default build says how to get it.
enum DistributedLaunch {
    static let help = ArgumentHelp("Run as one of the processes of `mpirun -np N` (an lcnn built with LCNN_MPI=1).")

    /// The communicator of this process: MPI's world with `--distributed`, else one process.
    static func communicator(_ distributed: Bool) throws -> any Communicator {
        guard distributed else { return SingleProcess() }
        #if LCNN_MPI
        return try MPICommunicator()
        #else
        throw ValidationError("--distributed needs an lcnn built with MPI: install Open MPI (Debian: apt install openmpi-bin "
                              + "libopenmpi-dev) and build with `LCNN_MPI=1 swift build -c release`")
        #endif
    }

    /// The processes on one machine share its cores: each gets cores ÷ (its machine's ranks)
    /// kernel threads (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE; all ranks when unset), unless
    /// LCNN_THREADS sets the count.
    static func threadsPerRank(ranks: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let forced = environment["LCNN_THREADS"].flatMap(Int.init), forced > 0 { return forced }
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? ranks
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
    }

    /// The kernel settings a command runs with: the current ones, with ``threadsPerRank(ranks:environment:)``
    /// threads when this process is one of MPI's ranks.
    static func kernelSettings(for communicator: any Communicator) -> KernelSettings {
        var settings = KernelSettings.current
        #if LCNN_MPI
        if communicator is MPICommunicator { settings.threads = threadsPerRank(ranks: communicator.size) }
        #endif
        return settings
    }

    /// Runs `body` on every process, with the kernels scoped to ``kernelSettings(for:)``. An
    /// error on any process ends the whole job through MPI (the others would wait for it forever
    /// in their next collective), with the message on standard error; success ends MPI cleanly.
    static func run(_ communicator: any Communicator, command: String, _ body: () throws -> Void) throws {
        do {
            try KernelSettings.with(kernelSettings(for: communicator), body)
        } catch {
            guard communicator.size > 1 else { throw error }
            communicator.abort("\(command): \(error)")
        }
        #if LCNN_MPI
        (communicator as? MPICommunicator)?.finalize()
        #endif
    }
}
