import Foundation
import Testing
import TensorCore
import NN
@testable import LCNNKit

/// SPEC G5 (paper Figure 2): for a smooth network the relative gradient change
/// `ρ(x, ε) = ‖∇ℓ(x+ε) − ∇ℓ(x)‖/‖∇ℓ(x)‖` grows linearly in ‖ε‖ and stays under the theory line
/// `‖ε‖·C(x)` (to first order `∇ℓ(x+ε) − ∇ℓ(x) ≈ Hε`, so `ρ ≲ ‖ε‖·‖H‖/‖∇ℓ‖`). An LCNN SmallCNN
/// with average pooling is smooth; with max pooling it is not: on images with exactly-zero
/// backgrounds whole pooling windows tie exactly, any noise re-routes the gradient there and `ρ`
/// jumps to a plateau that does not shrink with ‖ε‖ (the Fashion-MNIST failure of the issue).
///
/// Small images keep the debug-build run short: 10×10, an object of random [0, 1) pixels at rows
/// and columns 1..<4, everything else (the border rows and columns included) exactly 0. Of the
/// 3×3 pooling windows after the two 3×3 convolutions, each sees a 6×6 input patch; the five
/// whose patch lies in the background tie exactly.
@Suite("Gradient robustness is linear in ‖ε‖ for an average-pooling LCNN")
struct GradientRobustnessLinearityTests {
    static let size = 10
    static let object = 1..<4
    static let samples = 16
    static let robustness = GradientRobustness(levels: 3, minimumNoise: 1e-3, maximumNoise: 1e-1, seed: 3)

    /// `count` images with exactly-zero background and a random object.
    static func images(_ count: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        var s = [Float](repeating: 0, count: count * size * size)
        for i in 0..<count { for y in object { for x in object {
            s[(i * size + y) * size + x] = Float.random(in: 0..<1, using: &g)
        } } }
        return Tensor(s, shape: [count, 1, size, size])
    }

    /// Per-channel mean and unbiased variance of an NCHW batch (what BN's running statistics estimate).
    static func channelStatistics(_ t: Tensor) -> (mean: [Float], variance: [Float]) {
        let (n, c, plane) = (t.shape[0], t.shape[1], t.shape[2] * t.shape[3])
        let v = t.scalars
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            var values: [Double] = []
            for i in 0..<n { values += v[(i * c + ch) * plane ..< (i * c + ch + 1) * plane].map(Double.init) }
            let m = values.reduce(0, +) / Double(values.count)
            mean[ch] = Float(m)
            variance[ch] = Float(values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1))
        }
        return (mean, variance)
    }

    /// The initialised LCNN SmallCNN (seed 1) with BN running statistics set to the population
    /// statistics of 64 images of the same kind (a trained model's state, without the passes).
    static func model(pooling: PoolingKind) -> SmallCNN {
        let config = ModelConfig(architecture: .smallcnn, lcnn: true, inputShape: [1, size, size], seed: 1, pooling: pooling)
        let model = config.makeModel() as! SmallCNN
        let bn1 = model.bn1 as! LipschitzBatchNorm, bn2 = model.bn2 as! LipschitzBatchNorm
        inference {
            withoutGrad {
                let h1 = model.conv1(images(64, seed: 21))
                let s1 = channelStatistics(h1)
                bn1.runningMean.assign(Tensor(s1.mean)); bn1.runningVar.assign(Tensor(s1.variance))
                let h2 = model.conv2(model.act1(bn1(h1)))
                let s2 = channelStatistics(h2)
                bn2.runningMean.assign(Tensor(s2.mean)); bn2.runningVar.assign(Tensor(s2.variance))
            }
        }
        return model
    }

    /// Per-level ratios (16 samples each), C(x), and the log–log slope of the median ratio
    /// between the smallest and largest noise norm.
    static func measure(pooling: PoolingKind, powerIterations: Int) -> (batch: CurvatureMeasurement.Batch, medians: [Double], slope: Double) {
        let model = model(pooling: pooling)
        let x = images(samples, seed: 11)
        let labels = (0..<samples).map { $0 % 10 }
        let measurement = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: powerIterations),
                                               robustness: robustness)
        let batch = measurement.measure(model: model, at: x, labels: labels)
        let medians = batch.robustnessRatios!.map { ratios -> Double in
            let s = ratios.sorted()
            return Double(s[(s.count - 1) / 2] + s[s.count / 2]) / 2
        }
        let norms = robustness.noiseNorms
        let slope = log(medians.last! / medians.first!) / log(Double(norms.last!) / Double(norms.first!))
        return (batch, medians, slope)
    }

    @Test("Average pooling: median ρ has log–log slope ≈ 1 between ‖ε‖ = 1e-3 and 1e-1, and ρ ≤ ‖ε‖·C(x) on ≥ 75 % of samples at every level")
    func averagePoolingIsLinear() throws {
        let (batch, medians, slope) = Self.measure(pooling: .average, powerIterations: 12)
        let norms = Self.robustness.noiseNorms
        #expect(norms.count == 3 && Swift.abs(norms[1] - 1e-2) < 1e-6)
        #expect(slope >= 0.8 && slope <= 1.2, "slope \(slope), medians \(medians)")
        for (level, r) in norms.enumerated() {
            let ratios = try #require(batch.robustnessRatios?[level])
            #expect(ratios.count == Self.samples)
            let under = zip(ratios, batch.curvature).filter { $0 <= r * $1 }.count
            #expect(Double(under) >= 0.75 * Double(Self.samples),
                    "‖ε‖ = \(r): ρ ≤ ‖ε‖·C(x) on \(under)/\(Self.samples); ρ/(‖ε‖C) = \(zip(ratios, batch.curvature).map { $0 / (r * $1) })")
        }
    }

    @Test("Max pooling, same weights and inputs: ρ is flat in ‖ε‖ (slope ≪ 0.8) — exact ties re-route the gradient")
    func maxPoolingIsFlat() {
        // C(x) is not needed here (and has no finite bound at ties): one power step.
        let (_, medians, slope) = Self.measure(pooling: .max, powerIterations: 1)
        #expect(slope < 0.5, "slope \(slope), medians \(medians)")
        // Already at ‖ε‖ = 1e-3 the gradient has moved by a large fraction of itself.
        #expect(medians[0] > 0.05, "median ρ at 1e-3: \(medians[0])")
    }
}
