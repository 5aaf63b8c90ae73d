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

    /// Alternatives of one computation timed in interleaved rounds, so that every one of them sees
    /// the same spells of load on a shared machine: each round runs every body once, the order
    /// rotating by one from round to round (no body always runs first, after another's cache
    /// footprint). `rounds` nil: enough rounds for about `budgetMilliseconds` in all (10–60),
    /// estimated from one run of each after two warm-up runs.
    public struct Interleaved: Sendable {
        /// Median ms of each body, in the order given.
        public var medians: [Double]
        /// Per body, the median over the rounds of (first body's time ÷ this body's time) in the
        /// same round: below 1, the first body is the faster one. 1 for the first body itself.
        public var firstOverThis: [Double]
        public var rounds: Int
    }

    static func interleaved(_ bodies: [() -> Void], rounds: Int? = nil, budgetMilliseconds: Double = 2000) -> Interleaved {
        precondition(!bodies.isEmpty, "BenchmarkClock.interleaved: no bodies")
        for body in bodies { body(); body() }
        let estimate = bodies.reduce(0) { $0 + milliseconds($1) }
        let count = rounds ?? max(10, min(60, Int(budgetMilliseconds / max(estimate, 1e-6))))
        var times = [[Double]](repeating: [], count: bodies.count)
        for round in 0..<count {
            for step in 0..<bodies.count {
                let i = (round + step) % bodies.count
                times[i].append(milliseconds(bodies[i]))
            }
        }
        let ratios = times.map { t in Statistics(zip(times[0], t).map { $0 / $1 }).median }
        return Interleaved(medians: times.map { Statistics($0).median }, firstOverThis: ratios, rounds: count)
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
