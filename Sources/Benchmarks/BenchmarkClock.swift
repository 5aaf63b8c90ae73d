import Dispatch

/// Timing shared by the `lcnn bench` suites.
public enum BenchmarkClock {
    /// Summary of timed runs, in milliseconds.
    public struct Statistics: Equatable, Sendable {
        public var median: Double, min: Double, mean: Double, max: Double
        /// Number of timed runs.
        public var runs: Int

        /// The statistics of `times` (at least one); the median of an even count is the mean of
        /// the two middle values.
        public init(_ times: [Double]) {
            precondition(!times.isEmpty, "BenchmarkClock.Statistics: no times")
            let s = times.sorted(), n = s.count
            median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
            min = s[0]
            max = s[n - 1]
            mean = s.reduce(0, +) / Double(n)
            runs = n
        }
    }

    /// Wall time of one run of `body` in ms, on the monotonic clock.
    static func milliseconds(_ body: () -> Void) -> Double {
        let s = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6
    }

    /// `warmup` untimed runs of `body`, then `reps` timed ones.
    static func measure(warmup: Int, reps: Int, _ body: () -> Void) -> Statistics {
        precondition(reps >= 1, "BenchmarkClock.measure: reps must be ≥ 1")
        for _ in 0..<warmup { body() }
        return Statistics((0..<reps).map { _ in milliseconds(body) })
    }

    /// Median wall time in ms of `body` over at least `minimumRuns` runs (more for fast bodies,
    /// up to about one second in total), after 2 warm-up runs, on the monotonic clock.
    static func medianMilliseconds(minimumRuns: Int = 10, _ body: () -> Void) -> Double {
        body(); body()
        let estimate = max(1e-6, milliseconds(body))
        let runs = max(minimumRuns, min(100, Int(1000 / estimate)))
        return measure(warmup: 0, reps: runs, body).median
    }
}
