import Dispatch
import Foundation

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
    /// footprint). Ratios are taken within a round, so a slow spell that hits a whole round
    /// cancels out of them.
    public struct Interleaved: Sendable {
        /// `times[i][r]`: ms of body i in round r.
        public var times: [[Double]]

        public var rounds: Int { times.first?.count ?? 0 }
        /// Median ms of each body, in the order given.
        public var medians: [Double] { times.map { Statistics($0).median } }

        /// Body i's time ÷ body j's, one per round.
        public func ratios(_ i: Int, over j: Int) -> [Double] { zip(times[i], times[j]).map { $0 / $1 } }

        /// The median of ``ratios(_:over:)``.
        public func medianRatio(_ i: Int, over j: Int) -> Double { Statistics(ratios(i, over: j)).median }

        /// A distribution-free confidence interval for the median of the per-round ratios (the
        /// rounds taken as independent draws): the order statistics [x₍ₖ₎, x₍ₙ₊₁₋ₖ₎] of the n
        /// sorted ratios with the largest k whose coverage 1 − 2·P(B ≤ k − 1), B ~ Binomial(n, ½),
        /// is at least `level` (W. J. Conover, "Practical Nonparametric Statistics", 3rd ed.,
        /// §3.2). nil when the rounds are too few for that level (n < 6 at 95 %).
        public func medianRatioInterval(_ i: Int, over j: Int, level: Double = 0.95) -> (lower: Double, upper: Double)? {
            let sorted = ratios(i, over: j).sorted()
            guard let k = medianOrderStatistic(count: sorted.count, level: level) else { return nil }
            return (sorted[k - 1], sorted[sorted.count - k])
        }
    }

    /// The k of ``Interleaved/medianRatioInterval(_:over:level:)`` for `count` values (1-based),
    /// nil when even k = 1 covers less than `level`.
    static func medianOrderStatistic(count n: Int, level: Double) -> Int? {
        // P(B ≤ m) for B ~ Binomial(n, ½), accumulated term by term in log space (n ≤ a few hundred).
        var best: Int?
        var cumulative = 0.0, logTerm = -Double(n) * log(2.0)   // log C(n, 0)·2⁻ⁿ
        for k in 1...max(1, n / 2) {
            cumulative += exp(logTerm)                          // P(B ≤ k − 1)
            if 1 - 2 * cumulative >= level { best = k } else { break }
            logTerm += log(Double(n - (k - 1))) - log(Double(k))   // C(n, k) from C(n, k − 1)
        }
        return best
    }

    /// Times `bodies` in interleaved rounds (see ``Interleaved``). `rounds` nil: enough rounds for
    /// about `budgetMilliseconds` in all (10–60), estimated from one run of each after two
    /// warm-up runs.
    static func interleaved(_ bodies: [() -> Void], rounds: Int? = nil, budgetMilliseconds: Double = 2000) -> Interleaved {
        precondition(!bodies.isEmpty, "BenchmarkClock.interleaved: no bodies")
        for body in bodies { body(); body() }
        let count = rounds ?? {
            let estimate = bodies.reduce(0) { $0 + milliseconds($1) }
            return max(10, min(60, Int(budgetMilliseconds / max(estimate, 1e-6))))
        }()
        var times = [[Double]](repeating: [], count: bodies.count)
        for round in 0..<count {
            for step in 0..<bodies.count {
                let i = (round + step) % bodies.count
                times[i].append(milliseconds(bodies[i]))
            }
        }
        return Interleaved(times: times)
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
