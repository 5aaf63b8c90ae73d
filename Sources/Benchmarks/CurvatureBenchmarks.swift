import Foundation
import LCNNKit
import NN
import TensorCore
import TensorKernels

/// `hessian_power_iter`: the peers' task T2 (bench/peers/README.md), the whole curvature
/// estimate of one batch as in the authors' `estimate_curvature.py`: SmallCNN (Standard,
/// `ModelConfig(architecture: .smallcnn, seed: 1)`) in evaluation mode, 32 uniform [0, 1)
/// 1×28×28 inputs from a fixed seed; forward, summed cross-entropy, `g = ∂L/∂x` recorded
/// (create-graph) and per-sample `‖g‖`; 10 power steps `u ← Hu/(‖Hu‖ + 1e-6)` with
/// `Hu = ∂⟨g, u⟩/∂x` reusing the recorded graph; one final product for the Rayleigh quotient
/// `σ = ⟨Hu, u⟩` and `|σ|/(‖g‖ + 1e-6)` (11 products). Prints one JSON line with the median
/// of ≥ 10 runs after 2 warm-ups (SPEC G2/G3; target ≤ 0.8 × PyTorch's 345 ms).
public enum CurvatureBenchmarks {
    public static let threads = 2
    static let batch = 32, iterations = 10

    /// The model and batch of the task, and one whole estimate per call.
    static func makeEstimate() -> () -> CurvatureMeasurement.Batch {
        let model = ModelConfig(architecture: .smallcnn, seed: 1).makeModel()
        var generator = SeededGenerator(seed: 1)
        let x = Tensor.uniform([batch, 1, 28, 28], low: 0, high: 1, generator: &generator)
        let labels = (0..<batch).map { _ in generator.nextInt(below: 10) }
        let measurement = CurvatureMeasurement(
            powerIteration: HessianPowerIteration(iterations: iterations, tolerance: 1e-3, seed: 0))
        return { measurement.measure(model: model, at: x, labels: labels) }
    }

    /// Runs the task with the kernels limited to ``threads`` threads; its line goes to `emit`.
    public static func run(emit: BenchmarkLines) {
        KernelSettings.with({ $0.threads = threads }) {
            let estimate = makeEstimate()
            var meanCurvature: Double = 0, converged = 0
            let ms = BenchmarkClock.medianMilliseconds {
                let result = estimate()
                meanCurvature = MeanStd(result.curvature).mean
                converged = result.power.convergedCount
            }
            emit("{\"name\": \"hessian_power_iter\", \"model\": \"smallcnn\", \"variant\": \"standard\", \"batch\": \(batch), "
                  + "\"iterations\": \(iterations), \"ms\": \(String(format: "%.2f", ms)), \"threads\": \(threads), "
                  + "\"check\": {\"mean_curvature\": \(String(format: "%.6g", meanCurvature)), \"converged\": \(converged)}}")
        }
    }
}
