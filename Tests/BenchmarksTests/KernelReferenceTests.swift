import Foundation
import TensorKernels
import Testing
@testable import Benchmarks

/// The yardsticks of `lcnn bench kernels` and `lcnn bench train`: the reference sgemm (and its
/// fallback), the FLOP count behind the GEMM-rate floor, and the profile's shares.
@Suite("Benchmark yardsticks")
struct KernelReferenceTests {
    @Test("without a usable Python the reference is the naive loop, with a positive rate")
    func naiveFallback() {
        #expect(ReferenceGEMM.numpyMilliseconds(m: 8, k: 8, n: 8, threads: 1, python: "/nonexistent/python3") == nil)
        let reference = ReferenceGEMM.gflops(m: 16, k: 16, n: 16, threads: 1, python: "/nonexistent/python3")
        #expect(reference.source == "naive" && reference.gflops > 0 && reference.gflops.isFinite)
    }

    @Test("a profiled MLP2D Standard step counts exactly the FLOPs of its GEMMs: forward, weight gradients, and input gradients past the first layer")
    func stepFlops() {
        let step = TrainBenchmarks.Step(model: .mlp2d, method: .standard)
        step()
        let profile = KernelProfile()
        _ = profile.recording { step() }
        let flops = profile.entries.values.reduce(0) { $0 + $1.flops }
        // 2 → 64 → 64 → 2 at batch 256: 2·256·(2·64 + 64·64 + 64·2) per pass.
        let perSample: Double = 2 * 64 + 64 * 64 + 64 * 2, pastFirst: Double = 64 * 64 + 64 * 2
        let forward = 512 * perSample
        let inputGradients = 512 * pastFirst
        #expect(flops == 2 * forward + inputGradients)
        #expect(profile.entries["sgemm"]?.calls ?? 0 >= 8)
    }

    @Test("the shares list kernels by time and give the rest to other, summing to 1")
    func shares() throws {
        var entries: [String: KernelProfile.Entry] = [:]
        entries["sgemm"] = KernelProfile.Entry(calls: 3, seconds: 0.6, flops: 1)
        entries["softplus"] = KernelProfile.Entry(calls: 1, seconds: 0.2, flops: 0)
        let text = TrainBenchmarks.shares(entries, totalMilliseconds: 1000)
        #expect(text == #"{"sgemm": 0.600, "softplus": 0.200, "other": 0.200}"#)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Double])
        #expect(Swift.abs(parsed.values.reduce(0, +) - 1) < 1e-9)
    }
}

/// The per-round ratios beside a benchmark's best-to-best ratio.
@Suite("Round ratios")
struct RoundRatiosTests {
    @Test("the field lists the rounds in order, with the requested decimals")
    func rangeAndField() {
        var ratios = RoundRatios()
        #expect(ratios.values.isEmpty && ratios.jsonField("ratio_to_reference").isEmpty)
        for r in [0.97, 1.04, 0.88] { ratios.append(r) }
        #expect(ratios.values == [0.97, 1.04, 0.88])
        #expect(ratios.jsonField("ratio_to_reference") == #", "ratio_to_reference_rounds": [0.97, 1.04, 0.88]"#)
        #expect(ratios.jsonField("ratio_to_standard", decimals: 3) == #", "ratio_to_standard_rounds": [0.970, 1.040, 0.880]"#)
    }

    @Test("a GEMM line of lcnn bench kernels carries one ratio per round, consistent with its best-to-best ratio")
    func kernelLine() throws {
        let line = KernelBenchmarks.gemmLine("sgemm_tiny", m: 8, k: 8, n: 8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let rounds = try #require(object["ratio_to_reference_rounds"] as? [Double])
        #expect(rounds.count == KernelBenchmarks.referenceRounds && rounds.allSatisfy { $0 > 0 && $0.isFinite })
        let ratio = try #require(object["ratio_to_reference"] as? Double)
        #expect(ratio > 0 && ratio.isFinite)
    }
}
