import Foundation
import TensorKernels

/// Micro-benchmarks of the CPU kernels (TensorKernels). Prints one JSON object per line:
/// {"name": ..., "shape": ..., "ms": median, "gflops" | "gbps": ..., "threads": ...}; the GEMM
/// lines add a reference sgemm of the same shape (``ReferenceGEMM``), alternating with ours for
/// five rounds, each side's best median kept (`ms` is then ours): `reference`,
/// `reference_gflops` and `ratio_to_reference` (ours ÷ reference in GFLOP/s; ≥ 1: as fast), and
/// `ratio_to_reference_rounds`, the ratio of each round's pair (its spread is this run's noise).
/// `ms` is the median of ≥ 10 timed runs after 2 warm-up runs (monotonic clock); inputs are
/// random and allocated once outside the timed region. `filter` keeps the benchmarks whose name
/// contains it (case-sensitive substring); nil runs everything.
public enum KernelBenchmarks {
    /// Kernel threads: `BENCH_THREADS` when set (one thread compares a kernel as the LCNN power
    /// iterations ahead run it, `PowerIterationsAhead`), else 2.
    public static var threads: Int { PeerBenchmarks.threadCount() }
    /// Alternating rounds of our GEMM and the reference per shape (best median of each kept).
    static let referenceRounds = 5

    /// Runs the suite with the kernels limited to ``threads`` threads, passing each JSON line to
    /// `emit` as it is measured.
    public static func run(filter: String?, emit: BenchmarkLines) {
        KernelSettings.with({ $0.threads = threads }) { runAll(filter: filter, emit: emit) }
    }

    static func runAll(filter: String?, emit: BenchmarkLines) {
        func wanted(_ name: String) -> Bool {
            guard let f = filter, !f.isEmpty else { return true }
            return name.contains(f)
        }

        // GEMM: (M, K, N).
        let gemms: [(String, Int, Int, Int)] = [
            ("sgemm_square_512", 512, 512, 512), ("sgemm_square_1024", 1024, 1024, 1024),
            ("sgemm_64x576x32768", 64, 576, 32768), ("sgemm_128x1152x8192", 128, 1152, 8192),
            ("sgemm_256x2304x2048", 256, 2304, 2048), ("sgemm_512x4608x512", 512, 4608, 512),
            ("sgemm_32x9x86528", 32, 9, 86528), ("sgemm_64x288x73728", 64, 288, 73728),
        ]
        for (name, m, k, n) in gemms where wanted(name) { emit(gemmLine(name, m: m, k: k, n: n)) }

        // Convolutions: (label, geometry).
        func geo(_ n: Int, _ c: Int, _ h: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int) -> Conv2dGeometry {
            Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: h, outChannels: o, kernelHeight: k,
                           kernelWidth: k, strideHeight: s, strideWidth: s, paddingHeight: p, paddingWidth: p)
        }
        let convs: [(String, Conv2dGeometry)] = [
            ("smallcnn_conv1_1to32_3x3", geo(128, 1, 28, 32, 3, 1, 0)),
            ("smallcnn_conv2_32to64_3x3", geo(128, 32, 26, 64, 3, 1, 0)),
            ("smallcnn_conv2_32to64_3x3_b1", geo(1, 32, 26, 64, 3, 1, 0)),
            ("smallcnn_cifar_conv2_32to64_3x3", geo(128, 32, 30, 64, 3, 1, 0)),
            ("resnet_64to64_3x3_28", geo(32, 64, 28, 64, 3, 1, 1)),
            ("resnet_3to64_3x3_32", geo(32, 3, 32, 64, 3, 1, 1)),
            ("resnet_64to64_3x3_32", geo(32, 64, 32, 64, 3, 1, 1)),
            ("resnet_64to128_3x3_s2", geo(32, 64, 32, 128, 3, 2, 1)),
            ("resnet_128to128_3x3_16", geo(32, 128, 16, 128, 3, 1, 1)),
            ("resnet_64to128_1x1_s2", geo(32, 64, 32, 128, 1, 2, 0)),
            ("resnet_128to256_3x3_s2", geo(32, 128, 16, 256, 3, 2, 1)),
            ("resnet_256to256_3x3_8", geo(32, 256, 8, 256, 3, 1, 1)),
            ("resnet_128to256_1x1_s2", geo(32, 128, 16, 256, 1, 2, 0)),
            ("resnet_256to512_3x3_s2", geo(32, 256, 8, 512, 3, 2, 1)),
            ("resnet_512to512_3x3_4", geo(32, 512, 4, 512, 3, 1, 1)),
            ("resnet_256to512_1x1_s2", geo(32, 256, 8, 512, 1, 2, 0)),
            // Single images: the power-iteration and σ̂-gradient convolutions of LCNN layers.
            ("resnet_64to64_3x3_32_b1", geo(1, 64, 32, 64, 3, 1, 1)),
            ("resnet_128to128_3x3_16_b1", geo(1, 128, 16, 128, 3, 1, 1)),
            ("resnet_256to256_3x3_8_b1", geo(1, 256, 8, 256, 3, 1, 1)),
            ("resnet_512to512_3x3_4_b1", geo(1, 512, 4, 512, 3, 1, 1)),
            ("resnet_3to64_3x3_32_b1", geo(1, 3, 32, 64, 3, 1, 1)),
            ("resnet_64to128_3x3_s2_b1", geo(1, 64, 32, 128, 3, 2, 1)),
            ("resnet_128to256_3x3_s2_b1", geo(1, 128, 16, 256, 3, 2, 1)),
            ("resnet_256to512_3x3_s2_b1", geo(1, 256, 8, 512, 3, 2, 1)),
            ("resnet_64to128_1x1_s2_b1", geo(1, 64, 32, 128, 1, 2, 0)),
            ("resnet_128to256_1x1_s2_b1", geo(1, 128, 16, 256, 1, 2, 0)),
            ("resnet_256to512_1x1_s2_b1", geo(1, 256, 8, 512, 1, 2, 0)),
        ]
        for (label, g) in convs {
            let names = ["conv2d_fwd_" + label, "conv2d_bwd_input_" + label, "conv2d_bwd_weight_" + label]
            if !names.contains(where: wanted) { continue }
            let xCount = g.batch * g.inChannels * g.inHeight * g.inWidth
            let wCount = g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth
            let yCount = g.batch * g.outChannels * g.outHeight * g.outWidth
            let x = randomBuffer(xCount, seed: 3), w = randomBuffer(wCount, seed: 4)
            let y = randomBuffer(yCount, seed: 5), dx = randomBuffer(xCount, seed: 6), dw = randomBuffer(wCount, seed: 7)
            defer { x.deallocate(); w.deallocate(); y.deallocate(); dx.deallocate(); dw.deallocate() }
            let shape = "\(g.batch)x\(g.inChannels)x\(g.inHeight)x\(g.inWidth)->\(g.outChannels)x\(g.outHeight)x"
                + "\(g.outWidth),k\(g.kernelHeight)x\(g.kernelWidth),s\(g.strideHeight),p\(g.paddingHeight)"
            let flops = 2.0 * Double(yCount) * Double(g.inChannels * g.kernelHeight * g.kernelWidth)
            // 3×3 stride-1 layers run forward and backward-input (and, within the weight gradient's
            // bounds for this machine's tiling, backward-weight) through Winograd: F(4×4, 3×3) where
            // it has enough tiles, else F(2×2, 3×3). Their `_small_tiles` twins time F(2×2) where
            // F(4×4) runs, their `_direct` twins the implicit GEMMs Winograd replaces (flops counted
            // as direct in all); where a pass runs by filter blocks (`Conv2dWinograd.schedulesByFilterBlocks`,
            // `weightGradSchedulesByFilterBlocks`), its `_tile_blocks` twin times it by blocks of tiles.
            let winograd = Conv2dWinograd.applies(to: g)
            let winogradWeight = Conv2dWinograd.appliesToWeightGradient(g)
            let largeTiles = Conv2dWinograd.appliesLargeTiles(to: g)
            let largeWeightTiles = Conv2dWinograd.appliesLargeTilesToWeightGradient(g)
            var variants: [(suffix: String, change: (inout KernelSettings) -> Void)] = [("", { _ in })]
            if winograd && (largeTiles || largeWeightTiles) {
                variants.append(("_small_tiles", { $0.winogradLargeTiles = false }))
            }
            if winograd || largeTiles || largeWeightTiles { variants.append(("_direct", { $0.winograd = false })) }
            let filterBlocks = Conv2dWinograd.schedulesByFilterBlocks(g)
            let weightFilterBlocks = Conv2dWinograd.weightGradSchedulesByFilterBlocks(g)
            if filterBlocks || weightFilterBlocks {
                variants.append(("_tile_blocks", { $0.winogradFilterBlocks = false }))
            }
            // Each pass's variants run in interleaved rounds (`BenchmarkClock.interleaved`); a twin's
            // `ratio_default_to_twin` is the median over the rounds of the dispatched variant's time
            // ÷ the twin's (below 1: the default is faster).
            let passes: [(name: String, hasTwin: (String) -> Bool, body: () -> Void)] = [
                (names[0], { $0 != "_tile_blocks" || filterBlocks }, { conv2dForward(g, input: x, weight: w, output: y) }),
                (names[1], { $0 != "_tile_blocks" || filterBlocks }, {
                    conv2dBackwardInput(g, gradOutput: y, weight: w, gradInput: dx)
                }),
                (names[2], { suffix in
                    suffix == "" || (suffix == "_direct" && (winogradWeight || largeWeightTiles))
                        || (suffix == "_small_tiles" && largeWeightTiles && winogradWeight)
                        || (suffix == "_tile_blocks" && weightFilterBlocks)
                }, { conv2dBackwardWeight(g, input: x, gradOutput: y, gradWeight: dw) }),
            ]
            for pass in passes where wanted(pass.name) {
                let timed = variants.filter { pass.hasTwin($0.suffix) }
                let result = BenchmarkClock.interleaved(timed.map { variant in
                    { KernelSettings.with(variant.change) { pass.body() } }
                })
                for (i, variant) in timed.enumerated() {
                    let ms = result.medians[i]
                    let ratio = i == 0 ? "" : ", \"ratio_default_to_twin\": \(String(format: "%.3f", result.medianRatio(0, over: i)))"
                    emit(line(pass.name + variant.suffix, shape, ms, rateKey: "gflops", rate: flops / ms / 1e6, extra: ratio))
                }
            }
        }

        // Softplus over 16M floats (8 bytes per element: one read, one write).
        for centered in [false, true] {
            let name = centered ? "softplus_centered_16M" : "softplus_16M"
            if !wanted(name) { continue }
            let n = 16 << 20
            let x = randomBuffer(n, seed: 8, scale: 20)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { x.deallocate(); y.deallocate() }
            let ms = BenchmarkClock.medianMilliseconds { softplusForward(x, beta: 5, centered: centered, y, count: n) }
            emit(line(name, "\(n)", ms, rateKey: "gbps", rate: 8.0 * Double(n) / ms / 1e6))
        }

        // Dropout over SmallCNN's first dropout layer at batch 128 (128×64×12×12): the
        // counter-based mask alone (4 bytes written per element), then the mask and x·mask in
        // one pass (12 bytes), then the mask followed by the separate product (20 bytes).
        if ["dropout_mask_1M", "dropout_fused_1M", "dropout_mask_then_multiply_1M"].contains(where: wanted) {
            let n = 128 * 64 * 12 * 12
            let x = randomBuffer(n, seed: 9)
            let mask = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { x.deallocate(); mask.deallocate(); y.deallocate() }
            var key: UInt64 = 1
            if wanted("dropout_mask_1M") {
                let ms = BenchmarkClock.medianMilliseconds {
                    key &+= 1
                    dropoutMask(key: key, probability: 0.25, firstIndex: 0, count: n, mask)
                }
                emit(line("dropout_mask_1M", "\(n)", ms, rateKey: "gbps", rate: 4.0 * Double(n) / ms / 1e6))
            }
            if wanted("dropout_fused_1M") {
                let ms = BenchmarkClock.medianMilliseconds {
                    key &+= 1
                    dropoutForward(x, key: key, probability: 0.25, firstIndex: 0, count: n, mask: mask, y)
                }
                emit(line("dropout_fused_1M", "\(n)", ms, rateKey: "gbps", rate: 12.0 * Double(n) / ms / 1e6))
            }
            if wanted("dropout_mask_then_multiply_1M") {
                let ms = BenchmarkClock.medianMilliseconds {
                    key &+= 1
                    dropoutMask(key: key, probability: 0.25, firstIndex: 0, count: n, mask)
                    applyBinary(.multiply, x, strideA: 1, mask, strideB: 1, y, count: n)
                }
                emit(line("dropout_mask_then_multiply_1M", "\(n)", ms, rateKey: "gbps", rate: 20.0 * Double(n) / ms / 1e6))
            }
        }

        fusionLines(wanted: wanted, emit: emit)
    }

    /// One GEMM line: ours and the reference alternating for ``referenceRounds`` rounds (each
    /// side's best median kept, so a burst of load on this shared machine does not decide the
    /// ratio), with the ratio of every round's pair.
    static func gemmLine(_ name: String, m: Int, k: Int, n: Int) -> String {
        let a = randomBuffer(m * k, seed: 1), b = randomBuffer(k * n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var ms = Double.infinity
        var reference = ReferenceGEMM.Measurement(source: "naive", gflops: 0)
        var rounds = RoundRatios()
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        for _ in 0..<referenceRounds {
            let roundMs = BenchmarkClock.medianMilliseconds {
                sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                      beta: 0, c: c, ldc: n)
            }
            ms = min(ms, roundMs)
            let round = ReferenceGEMM.gflops(m: m, k: k, n: n, threads: threads)
            if round.gflops > reference.gflops { reference = round }
            rounds.append(flops / roundMs / 1e6 / round.gflops)
        }
        let gflops = flops / ms / 1e6
        return line(name, "\(m)x\(k)x\(n)", ms, rateKey: "gflops", rate: gflops,
                    extra: ", \"reference\": \"\(reference.source)\", \"reference_gflops\": \(String(format: "%.2f", reference.gflops)), "
                    + "\"ratio_to_reference\": \(String(format: "%.2f", gflops / reference.gflops))"
                    + rounds.jsonField("ratio_to_reference"))
    }

    /// Uniform values in [−scale, scale) from a fixed-seed generator (fast, deterministic).
    static func randomBuffer(_ n: Int, seed: UInt64, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        for i in 0..<n {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            p[i] = (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        return p
    }

    /// One result line: name, shape, median ms, rate and threads, then `extra` fields.
    static func line(_ name: String, _ shape: String, _ ms: Double, rateKey: String, rate: Double, extra: String = "") -> String {
        "{\"name\": \"\(name)\", \"shape\": \"\(shape)\", \"ms\": \(String(format: "%.4f", ms)), "
            + "\"\(rateKey)\": \(String(format: "%.2f", rate)), \"threads\": \(threads)\(extra)}"
    }
}
