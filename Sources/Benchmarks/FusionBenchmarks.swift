import Foundation
import TensorCore
import TensorKernels

/// The fused operations against the ones they replace, one training forward and first-order
/// backward pass each, on the activations where the models use them:
/// - `bn_softplus_<C>x<H>x<W>`: batch norm + softplus (`batchNormSoftplus`, β = 1000, the Standard
///   models' softplus) at each stage of ResNet-18 at batch 32 (after each block's first
///   convolution) and the SmallCNN's two layers at batch 128 (`…_b128`); the twin runs with
///   `KernelSettings.fuseBatchNormSoftplus` off (the fused side fuses whatever the map's size,
///   `fuseBatchNormSoftplusMinPixels` = 16: these lines are what that bound is chosen from);
/// - `sum_softplus_<C>x<H>x<W>`: a ResNet-18 block's end, centered softplus of ½·(a + b) with a
///   learnable β (the LCNN block, `scaledSumSoftplus`), at each stage at batch 32; the twin runs
///   with `KernelSettings.fuseSumSoftplus` off (`scaledSumSoftplus` then runs `scaledSum`, then `softplus`).
/// Each line's `_unfused` twin runs the same ops unfused; the two run in ``fusionPairs``
/// interleaved pairs, each side's median is its `ms`, and `ratio_to_unfused` is the median of the
/// pairs' ratios.
extension KernelBenchmarks {
    static let fusionPairs = 60

    static func fusionLines(wanted: (String) -> Bool, emit: BenchmarkLines) {
        let shapes: [(batch: Int, channels: Int, size: Int)] = [(32, 64, 32), (32, 128, 16), (32, 256, 8), (32, 512, 4),
                                                                (128, 32, 26), (128, 64, 24)]
        for (batch, channels, size) in shapes {
            let name = "bn_softplus_\(channels)x\(size)x\(size)" + (batch == 32 ? "" : "_b\(batch)")
            guard wanted(name) else { continue }
            let shape = [batch, channels, size, size]
            var generator = SeededGenerator(seed: 21)
            let x = Tensor.normal(shape, generator: &generator).requiringGrad()
            let g = Tensor.normal(shape, generator: &generator)
            let weight = Tensor.ones([channels]).requiringGrad(), bias = Tensor.zeros([channels]).requiringGrad()
            let (mean, variance) = (Tensor.zeros([channels]), Tensor.ones([channels]))
            let step = {
                let z = batchNormSoftplus(x, runningMean: mean, runningVar: variance, weight: weight, bias: bias,
                                          beta: Tensor(Float(1000)), training: true)
                _ = gradients(of: (z * g).sum(), wrt: [x, weight, bias])
            }
            fusionPair(name, shape: shape, emit: emit) { fused in
                KernelSettings.with({ $0.fuseBatchNormSoftplus = fused; $0.fuseBatchNormSoftplusMinPixels = 16 }) { step() }
            }
        }
        for (batch, channels, size) in shapes where batch == 32 {
            let name = "sum_softplus_\(channels)x\(size)x\(size)"
            guard wanted(name) else { continue }
            let shape = [batch, channels, size, size]
            var generator = SeededGenerator(seed: 22)
            let a = Tensor.normal(shape, generator: &generator).requiringGrad()
            let b = Tensor.normal(shape, generator: &generator).requiringGrad()
            let g = Tensor.normal(shape, generator: &generator)
            let beta = Tensor(Float(2)).requiringGrad()
            fusionPair(name, shape: shape, emit: emit) { fused in
                KernelSettings.with({ $0.fuseSumSoftplus = fused }) {
                    let y = scaledSumSoftplus(a, b, scale: 0.5, beta: beta, centered: true)
                    _ = gradients(of: (y * g).sum(), wrt: [a, b, beta])
                }
            }
        }
    }

    /// Times `run(true)` (fused) against `run(false)` in interleaved pairs (both sides see the same
    /// spells of load) and emits the line and its `_unfused` twin.
    private static func fusionPair(_ name: String, shape: [Int], emit: BenchmarkLines, _ run: @escaping (Bool) -> Void) {
        let timed = BenchmarkClock.interleaved([{ run(true) }, { run(false) }], rounds: fusionPairs)
        let median = (fused: timed.medians[0], unfused: timed.medians[1])
        let ratio = timed.medianRatio(0, over: 1)
        let shapeText = shape.map(String.init).joined(separator: "x")
        let bytes = 4.0 * Double(shape.reduce(1, *))
        emit(line(name, shapeText, median.fused, rateKey: "gbps_per_tensor", rate: bytes / median.fused / 1e6,
                  extra: ", \"ratio_to_unfused\": \(String(format: "%.3f", ratio))"))
        emit(line(name + "_unfused", shapeText, median.unfused, rateKey: "gbps_per_tensor", rate: bytes / median.unfused / 1e6))
    }
}
