import Synchronization
import Testing
@testable import TensorKernels

/// `KernelSettings`: scoped overrides see their own values, nest, and end with their scope.
@Suite("Kernel settings")
struct KernelSettingsTests {
    @Test("a scoped override applies inside its scope only, and scopes nest")
    func scopedOverride() {
        let outside = KernelSettings.current
        #expect(KernelSettings.processDefault.tiling == GEMMTiling.detected)
        KernelSettings.with({ $0.threads = 1; $0.winograd = false }) {
            #expect(KernelSettings.current.threads == 1 && !KernelSettings.current.winograd)
            KernelSettings.with({ $0.tiling = .narrow }) {
                #expect(KernelSettings.current.tiling == .narrow && KernelSettings.current.threads == 1)
            }
            #expect(KernelSettings.current.tiling == outside.tiling)
        }
        #expect(KernelSettings.current == outside)
    }

    @Test("parallelFor forks no further than the scope's thread budget")
    func threadBudget() {
        let chunks = Atomic<Int>(0)
        KernelSettings.with({ $0.threads = 1 }) {
            parallelFor(1 << 20, minimumWorkPerThread: 1) { _ in chunks.add(1, ordering: .relaxed) }
        }
        #expect(chunks.load(ordering: .relaxed) == 1)
        chunks.store(0, ordering: .relaxed)
        KernelSettings.with({ $0.threads = 3 }) {
            parallelFor(1 << 20, minimumWorkPerThread: 1) { _ in chunks.add(1, ordering: .relaxed) }
        }
        #expect(chunks.load(ordering: .relaxed) == 3)
    }

    @Test("the thread budget counts values below 1 as 1; small GEMMs run on one thread")
    func threadsForFlops() {
        var s = KernelSettings(tiling: .narrow, threads: 0)
        #expect(s.threadCount == 1)
        s.threads = 4
        #expect(s.threads(forFlops: Double(s.gemmParallelFlops)) == 4)
        #expect(s.threads(forFlops: Double(s.gemmParallelFlops) - 1) == 1)
    }
}
