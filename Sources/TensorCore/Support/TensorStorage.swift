import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The contiguous Float32 buffer behind a ``Tensor``.
///
/// Buffers are not shared copy-on-write: each storage is owned by exactly one tensor, and
/// operations produce new storage. Large buffers are recycled through ``StoragePool`` so
/// that a training loop, which allocates the same activation sizes at every step, does not
/// pay the kernel's page-zeroing cost for fresh `mmap`ed memory on each op (see
/// `shared/bench/peers/README.md`, "glibc malloc and page faults").
public final class TensorStorage: @unchecked Sendable {
    /// Base address; valid for `count` elements for the storage's lifetime.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float elements.
    public let count: Int

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        self.count = count
        self.pointer = StoragePool.shared.allocate(count)
    }

    deinit { StoragePool.shared.release(pointer, count: count) }

    /// The values as a Swift array (a copy).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A size-keyed free list for large buffers.
///
/// Buffers of at least ``minimumPooledCount`` floats are kept after release, keyed by their
/// exact element count, up to ``capacityBytes`` in total; smaller ones go straight to
/// `malloc`/`free`, which is fast for them.
public final class StoragePool: Sendable {
    public static let shared: StoragePool = {
        keepFreedMemoryInHeap()
        return StoragePool()
    }()

    /// Asks glibc to serve large blocks from the heap instead of fresh `mmap`s and not to hand
    /// freed memory back: otherwise every multi-MB activation of every step page-faults and is
    /// zeroed by the kernel, which cost PyTorch up to 3× on this machine
    /// (`MALLOC_MMAP_MAX_=0`, `MALLOC_TRIM_THRESHOLD_` large, as the peer benchmarks set).
    private static func keepFreedMemoryInHeap() {
        #if canImport(Glibc)
        _ = glibcMallopt(-4, 0)           // M_MMAP_MAX
        _ = glibcMallopt(-1, Int32.max)   // M_TRIM_THRESHOLD
        #endif
    }

    /// Buffers smaller than this many floats (256 KiB) are not pooled.
    public let minimumPooledCount = 65_536
    /// The most memory the pool keeps cached (bytes): a third of physical memory, so that the
    /// steady state of a training loop (every step allocates the same sizes) never faults in
    /// fresh pages.
    public let capacityBytes: Int = {
        #if canImport(Glibc)
        let physical = sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))
        if physical > 0 { return physical / 3 }
        #endif
        return 4 << 30
    }()

    private struct State: ~Copyable {
        var free: [Int: [UInt]] = [:]   // addresses, by element count
        var cachedBytes = 0
        var statistics = Statistics()
    }

    /// Counters of the pool's activity since the process started.
    public struct Statistics: Sendable {
        /// Large requests served from the cache.
        public var reused = 0
        /// Large requests that needed fresh memory from `malloc`.
        public var fresh = 0
        /// Bytes currently cached.
        public var cachedBytes = 0
    }

    /// A snapshot of the pool's counters.
    public var statistics: Statistics {
        state.withLock { s in
            var copy = s.statistics
            copy.cachedBytes = s.cachedBytes
            return copy
        }
    }
    private let state = Mutex(State())

    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        if n >= minimumPooledCount {
            let reused: UInt? = state.withLock { s in
                guard var list = s.free[n], let p = list.popLast() else {
                    s.statistics.fresh += 1
                    return nil
                }
                s.free[n] = list.isEmpty ? nil : list
                s.cachedBytes -= n * 4
                s.statistics.reused += 1
                return p
            }
            if let reused, let p = UnsafeMutablePointer<Float>(bitPattern: reused) { return p }
        }
        guard let raw = malloc(n * MemoryLayout<Float>.stride) else {
            fatalError("TensorStorage: out of memory allocating \(n) floats")
        }
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let n = max(count, 1)
        if n >= minimumPooledCount {
            let kept = state.withLock { s -> Bool in
                guard s.cachedBytes + n * 4 <= capacityBytes else { return false }
                s.free[n, default: []].append(UInt(bitPattern: pointer))
                s.cachedBytes += n * 4
                return true
            }
            if kept { return }
        }
        free(pointer)
    }

    /// Returns every cached buffer to the system.
    public func drain() {
        let all = state.withLock { s -> [UInt] in
            let list = s.free.values.flatMap { $0 }
            s.free = [:]
            s.cachedBytes = 0
            return list
        }
        for p in all { free(UnsafeMutableRawPointer(bitPattern: p)) }
    }
}

#if canImport(Glibc)
/// glibc's `mallopt` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
