import Dispatch
import Synchronization

/// Where the time goes: wall time, calls and FLOPs per kernel while a profile records
/// (`profile.recording { … }`), for `lcnn bench train --profile`.
///
/// Every public kernel entry point opens a span named after it (`sgemm`, `conv2d_forward`,
/// `softplus_forward`, …); only the outermost span counts, so a convolution's inner GEMMs are
/// the convolution's time, and the spans of one step add up to at most its wall time (the rest
/// is work outside the kernels: bookkeeping, allocation, the autodiff tape). FLOPs are counted
/// for the GEMMs and convolutions only (2·m·n·k; convolutions as the direct algorithm computes
/// them, whatever algorithm ran), which is what a GEMM-rate floor needs.
///
/// With no profile recording, a span costs one task-local read. Spans from several threads at
/// once (replicas as threads) are attributed to whichever opened first; profile one model at a time.
public final class KernelProfile: Sendable {
    /// What one kernel spent.
    public struct Entry: Sendable, Equatable {
        public var calls = 0
        public var seconds = 0.0
        public var flops = 0.0

        public init(calls: Int = 0, seconds: Double = 0, flops: Double = 0) {
            self.calls = calls
            self.seconds = seconds
            self.flops = flops
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var open = false
    }

    private let state = Mutex(State())

    /// The profile the kernels of the current task report to.
    @TaskLocal public static var current: KernelProfile?

    public init() {}

    /// Per kernel name, everything recorded so far.
    public var entries: [String: Entry] { state.withLock { $0.entries } }

    /// Runs `body` with this profile recording its kernels.
    public func recording<R>(_ body: () throws -> R) rethrows -> R {
        try KernelProfile.$current.withValue(self, operation: body)
    }

    /// An open span: closed by ``close()``.
    public struct Span {
        fileprivate let profile: KernelProfile
        fileprivate let name: String
        fileprivate let flops: Double
        fileprivate let start: UInt64

        public func close() {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            profile.state.withLock { s in
                s.open = false
                s.entries[name, default: Entry()].calls += 1
                s.entries[name, default: Entry()].seconds += seconds
                s.entries[name, default: Entry()].flops += flops
            }
        }
    }

    /// Opens a span for kernel `name` when a profile records and no span is open (nil
    /// otherwise); close it with `defer { span?.close() }`.
    @inline(__always)
    public static func open(_ name: @autoclosure () -> String, flops: @autoclosure () -> Double = 0) -> Span? {
        guard let profile = current else { return nil }
        return profile.openSpan(name(), flops: flops())
    }

    private func openSpan(_ name: String, flops: Double) -> Span? {
        let opened = state.withLock { s -> Bool in
            if s.open { return false }
            s.open = true
            return true
        }
        return opened ? Span(profile: self, name: name, flops: flops, start: DispatchTime.now().uptimeNanoseconds) : nil
    }
}
