import Foundation

/// The reference sgemm `lcnn bench kernels` compares its GEMMs with, measured in the same run:
/// numpy's `matmul` in float32 — OpenBLAS in the test environment's numpy — limited to the
/// same number of threads (`OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS`), median of ≥ 10 runs
/// after 2 warm-ups, like ours. The interpreter is `$LCNN_PYTHON`, else `python3` on the PATH.
///
/// Without Python or numpy the reference is a fixed bound: the best of 3 runs of a plain
/// single-threaded triple loop (i, p, j with a contiguous inner loop the compiler vectorises),
/// labelled `naive`, so the ratio still says how far the blocked kernel is from the simple one.
enum ReferenceGEMM {
    struct Measurement {
        var source: String
        var gflops: Double
    }

    static let script = """
        import json, sys, time
        import numpy as np
        m, k, n = (int(v) for v in sys.argv[1:4])
        rng = np.random.default_rng(1)
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        c = np.empty((m, n), dtype=np.float32)
        def once():
            t = time.perf_counter(); np.matmul(a, b, out=c); return (time.perf_counter() - t) * 1e3
        once(); once()
        estimate = max(once(), 1e-6)
        runs = max(10, min(100, int(1000 / estimate)))
        times = sorted(once() for _ in range(runs))
        median = times[runs // 2] if runs % 2 else (times[runs // 2 - 1] + times[runs // 2]) / 2
        print(json.dumps({"ms": median, "library": "numpy " + np.__version__}))
        """

    /// `$LCNN_PYTHON`, else `python3`.
    static var python: String { ProcessInfo.processInfo.environment["LCNN_PYTHON"] ?? "python3" }

    static func gflops(m: Int, k: Int, n: Int, threads: Int, python: String = ReferenceGEMM.python) -> Measurement {
        let flops = 2 * Double(m) * Double(k) * Double(n)
        if let ms = numpyMilliseconds(m: m, k: k, n: n, threads: threads, python: python) {
            return Measurement(source: "numpy", gflops: flops / ms / 1e6)
        }
        return Measurement(source: "naive", gflops: flops / naiveMilliseconds(m: m, k: k, n: n) / 1e6)
    }

    /// numpy's median ms, or nil when Python or numpy is missing or fails.
    static func numpyMilliseconds(m: Int, k: Int, n: Int, threads: Int, python: String) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script, "\(m)", "\(k)", "\(n)"]
        var environment = ProcessInfo.processInfo.environment
        for key in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[key] = "\(threads)" }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let ms = object["ms"] as? Double, ms > 0 else { return nil }
        return ms
    }

    /// Best of 3 runs of the plain triple loop, in ms.
    static func naiveMilliseconds(m: Int, k: Int, n: Int) -> Double {
        let a = KernelBenchmarks.randomBuffer(m * k, seed: 1), b = KernelBenchmarks.randomBuffer(k * n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        return (0..<3).map { _ in
            BenchmarkClock.milliseconds {
                c.update(repeating: 0, count: m * n)
                for i in 0..<m {
                    let row = c + i * n
                    for p in 0..<k {
                        let aip = a[i * k + p], brow = b + p * n
                        for j in 0..<n { row[j] += aip * brow[j] }
                    }
                }
            }
        }.min()!
    }
}
