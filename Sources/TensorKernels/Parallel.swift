import Dispatch
import Foundation
import Synchronization

/// Process-wide thread budget for the CPU kernels.
///
/// Every kernel that forks work uses at most `KernelThreads.count` workers (including the
/// calling thread), through a single `DispatchQueue.concurrentPerform` fork per call.
public enum KernelThreads {
    private static let storage = Atomic<Int>(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Number of worker threads the kernels may use (≥ 1). Defaults to the number of active
    /// processors. Reads and writes are atomic, so it may be changed from any thread; kernels
    /// already running keep the value they read when they started.
    public static var count: Int {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(max(1, newValue), ordering: .relaxed) }
    }
}

/// Splits `0..<n` into at most `KernelThreads.count` contiguous chunks of near-equal size and
/// runs `body` once per chunk, in parallel, with one `concurrentPerform` fork.
///
/// With `t = min(KernelThreads.count, n / minimumWorkPerThread)` workers, chunk `i` is
/// `[⌊i·n/t⌋, ⌊(i+1)·n/t⌋)`. When `n < 2·minimumWorkPerThread` (or only one thread is allowed)
/// `body(0..<n)` runs on the calling thread alone: waking a worker costs ~25 µs on this machine.
/// `body` must be safe to call concurrently on disjoint ranges. Nothing runs when `n ≤ 0`.
public func parallelFor(_ n: Int, minimumWorkPerThread: Int, _ body: (Range<Int>) -> Void) {
    if n <= 0 { return }
    let minWork = max(1, minimumWorkPerThread)
    let threads = min(KernelThreads.count, n / minWork)
    if threads < 2 {
        body(0..<n)
        return
    }
    parallelChunks(threads) { i in
        let lo = i * n / threads
        let hi = (i + 1) * n / threads
        if lo < hi { body(lo..<hi) }
    }
}

/// Runs `body(i)` for `i` in `0..<count` with one `concurrentPerform` fork (or inline when
/// `count == 1`). Internal building block for kernels that pick their own partition.
@inline(__always)
func parallelChunks(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UnsafeSendableBox(escapable)
        DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
    }
}

/// Wraps a non-Sendable value so it can cross into `concurrentPerform`. The kernels only hand
/// disjoint output ranges to each worker, which is what makes this sound.
@usableFromInline
struct UnsafeSendableBox<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @inline(__always) @usableFromInline init(_ value: T) { self.value = value }
}

/// A raw pointer that may be captured by concurrently running workers (disjoint accesses only).
@usableFromInline
struct SendablePointer<T>: @unchecked Sendable {
    @usableFromInline let p: UnsafeMutablePointer<T>
    @inline(__always) @usableFromInline init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
