import Dispatch

/// Timing shared by the `lcnn bench` suites.
enum BenchmarkClock {
    /// Median wall time in ms of `body` over at least `minimumRuns` runs (more for fast bodies,
    /// up to about one second in total), after 2 warm-up runs, on the monotonic clock.
    static func medianMilliseconds(minimumRuns: Int = 10, _ body: () -> Void) -> Double {
        body(); body()
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        let estimate = max(1e-6, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        let runs = max(minimumRuns, min(100, Int(1000 / estimate)))
        var times: [Double] = []
        times.reserveCapacity(runs)
        for _ in 0..<runs {
            let s = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
        }
        times.sort()
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2
    }
}
