import Dispatch

/// Splits `0..<n` into at most `KernelSettings.current.threads` contiguous chunks of near-equal
/// size and runs `body` once per chunk, in parallel, with one `concurrentPerform` fork.
///
/// With `t = min(threads, n / minimumWorkPerThread)` workers, chunk `i` is
/// `[⌊i·n/t⌋, ⌊(i+1)·n/t⌋)`. When `n < 2·minimumWorkPerThread` (or only one thread is allowed)
/// `body(0..<n)` runs on the calling thread alone: waking a worker costs ~25 µs on this machine.
/// `body` must be safe to call concurrently on disjoint ranges. Nothing runs when `n ≤ 0`.
/// Call it on the thread that entered the kernel (it reads the task-local settings); inside a
/// worker use `parallelFor(_:threads:minimumWorkPerThread:_:)`.
public func parallelFor(_ n: Int, minimumWorkPerThread: Int, _ body: (Range<Int>) -> Void) {
    if n <= 0 { return }
    parallelFor(n, threads: KernelSettings.current.threadCount, minimumWorkPerThread: minimumWorkPerThread, body)
}

/// `parallelFor` with an explicit thread budget (read from the settings by the caller).
func parallelFor(_ n: Int, threads maxThreads: Int, minimumWorkPerThread: Int, _ body: (Range<Int>) -> Void) {
    if n <= 0 { return }
    let minWork = max(1, minimumWorkPerThread)
    let threads = min(maxThreads, n / minWork)
    if threads < 2 {
        body(0..<n)
        return
    }
    parallelChunks(threads) { i in
        let range = workerShare(i, of: n, workers: threads)
        if !range.isEmpty { body(range) }
    }
}

/// Worker t's share of `0..<count` split into `workers` contiguous near-equal ranges:
/// `[⌊t·count/workers⌋, ⌊(t+1)·count/workers⌋)` (empty when count < workers for some t).
@inline(__always)
func workerShare(_ t: Int, of count: Int, workers: Int) -> Range<Int> {
    (t * count / workers)..<((t + 1) * count / workers)
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
