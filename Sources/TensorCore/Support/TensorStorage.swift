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

    /// Allocates storage filled with `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
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
    public static let shared = StoragePool()

    /// Buffers smaller than this many floats (256 KiB) are not pooled.
    public let minimumPooledCount = 65_536
    /// The most memory the pool keeps cached (bytes).
    public let capacityBytes = 3 << 30

    private struct State: ~Copyable {
        var free: [Int: [UInt]] = [:]   // addresses, by element count
        var cachedBytes = 0
    }
    private let state = Mutex(State())

    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        if n >= minimumPooledCount {
            let reused: UInt? = state.withLock { s in
                guard var list = s.free[n], let p = list.popLast() else { return nil }
                s.free[n] = list.isEmpty ? nil : list
                s.cachedBytes -= n * 4
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
