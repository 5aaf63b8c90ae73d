import Testing
@testable import Benchmarks

/// The interleaved timing behind the conv twins, the fusion pairs and `lcnn bench train`'s
/// LCNN ÷ Standard: rotation of the order, per-round ratios, and the distribution-free interval
/// for their median.
@Suite("Interleaved timing")
struct InterleavedTimingTests {
    @Test("the order statistics of the median's interval match Conover's table, and too few rounds give none")
    func medianOrderStatistics() {
        // (n, k) at 95 %: the interval is [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎].
        for (n, k) in [(6, 1), (10, 2), (12, 3), (20, 6), (30, 10), (60, 22)] {
            #expect(BenchmarkClock.medianOrderStatistic(count: n, level: 0.95) == k, "n = \(n)")
        }
        #expect(BenchmarkClock.medianOrderStatistic(count: 5, level: 0.95) == nil)
        #expect(BenchmarkClock.medianOrderStatistic(count: 10, level: 0.99) == 1)
    }

    @Test("ratios are taken within each round; the interval brackets the median")
    func ratiosWithinRounds() throws {
        // Round r slows both bodies by the same factor: the within-round ratio stays 1.2 while the
        // medians of the raw times drift with the load.
        let load = [1.0, 3.0, 1.5, 2.0, 1.0, 4.0, 1.2, 1.1, 2.5, 1.0]
        var timed = BenchmarkClock.Interleaved(times: [load.map { 10 * $0 }, load.map { 12 * $0 }])
        #expect(timed.rounds == 10)
        #expect(timed.ratios(1, over: 0).allSatisfy { Swift.abs($0 - 1.2) < 1e-12 })
        #expect(Swift.abs(timed.medianRatio(1, over: 0) - 1.2) < 1e-12)
        #expect(Swift.abs(timed.medianRatio(0, over: 1) - 1 / 1.2) < 1e-12)
        timed.times[1][3] = 100   // one outlier round moves neither the median nor the interval's ends far
        let interval = try #require(timed.medianRatioInterval(1, over: 0))
        #expect(interval.lower <= timed.medianRatio(1, over: 0) && timed.medianRatio(1, over: 0) <= interval.upper)
        #expect(Swift.abs(interval.upper - 1.2) < 1e-12 && Swift.abs(interval.lower - 1.2) < 1e-12)
    }

    @Test("every body runs once per round and the order rotates")
    func rotation() {
        var log: [Int] = []
        let timed = BenchmarkClock.interleaved([{ log.append(0) }, { log.append(1) }, { log.append(2) }], rounds: 4)
        #expect(timed.rounds == 4 && timed.times.allSatisfy { $0.count == 4 })
        // Two warm-up runs of each (no estimate: the rounds are given), then rounds starting at 0, 1, 2, 0.
        #expect(Array(log.suffix(12)) == [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2])
        #expect(log.count == 6 + 12)
    }
}
