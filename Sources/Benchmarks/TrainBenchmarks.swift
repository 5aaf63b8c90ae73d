import Foundation
import LCNNKit
import NN
import TensorCore
import TensorKernels

/// `lcnn bench train`: median milliseconds of one training step (forward, loss, backward,
/// SGD update) for the models and batch sizes of `shared/bench/peers` (task T1):
/// MLP2D at batch 256, SmallCNN at 128, ResNet-18 at 32, each Standard and LCNN.
/// SGD uses lr 0.01, momentum 0.9 and weight decay 5e-4 on every parameter, as the peers do.
/// The models, data and step are shared with `lcnn bench peers` (``PeerBenchmarks``).
public enum TrainBenchmarks {
    /// The three models of the peer benchmark, named as the peers spell them.
    enum Model: String, CaseIterable {
        case mlp2d = "MLP2D", smallCNN = "SmallCNN", resnet18 = "ResNet18"

        /// The lower-case name of `lcnn bench train`'s output.
        var shortName: String { rawValue.lowercased() }

        /// The peers' T1 batch size.
        var trainBatch: Int {
            switch self {
            case .mlp2d: return 256
            case .smallCNN: return 128
            case .resnet18: return 32
            }
        }

        /// MLP 2→64→64→2 without batch norm (in both forms, as the peers'); SmallCNN 1×28×28 and
        /// ResNet-18 3×32×32 with 10 classes. Weights from seed 1.
        func config(lcnn: Bool) -> ModelConfig {
            switch self {
            case .mlp2d:
                return ModelConfig(architecture: .mlp, lcnn: lcnn, classes: 2, hiddenWidths: [64, 64], batchNorm: false, seed: 1)
            case .smallCNN: return ModelConfig(architecture: .smallcnn, lcnn: lcnn, seed: 1)
            case .resnet18: return ModelConfig(architecture: .resnet18, lcnn: lcnn, seed: 1)
            }
        }
    }

    /// A batch of `batch` inputs and uniform labels from `seed`: x ~ N(0, 1) for the MLP,
    /// U[0, 1) for images (the peers' distributions).
    static func batch(_ config: ModelConfig, size batch: Int, seed: UInt64 = 7) -> (x: Tensor, labels: [Int]) {
        var g = SeededGenerator(seed: seed)
        let x = config.architecture == .mlp
            ? Tensor.normal([batch] + config.inputShape, generator: &g)
            : Tensor.uniform([batch] + config.inputShape, generator: &g)
        let labels = (0..<batch).map { _ in g.nextInt(below: config.classes) }
        return (x, labels)
    }

    /// One training step of a model on a fixed batch, with the toolkit's ``Objective``: the mean
    /// cross-entropy, plus the paper's LCNN penalty (LCNN methods) and the input-gradient
    /// penalty with weight `gradientPenaltyWeight` (GradReg methods), then backward and SGD
    /// (lr 0.01, momentum 0.9, weight decay 5e-4 on every parameter, torch semantics).
    final class Step {
        let model: any Layer
        let x: Tensor
        let labels: [Int]
        let objective: Objective
        let optimizer: SGD
        private var generator = SeededGenerator(seed: 0)

        init(model kind: Model, method: TrainingMethod, gradientPenaltyWeight: Float = 1e-3) {
            let config = kind.config(lcnn: method.usesLCNNPenalty)
            model = config.makeModel()
            (x, labels) = TrainBenchmarks.batch(config, size: kind.trainBatch)
            var options = ObjectiveOptions(penalty: .paper)
            options.gradientPenaltyWeight = gradientPenaltyWeight
            objective = Objective(method: method, options: options)
            optimizer = SGD(parameters: model.namedParameters, learningRate: 0.01, momentum: 0.9,
                            weightDecay: 5e-4, decayAll: true)
        }

        /// Runs one step and returns the objective before the update.
        @discardableResult
        func callAsFunction() -> Tensor {
            training {
                let loss = objective.evaluate(model: model, x: x, labels: labels, generator: &generator).total
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                return loss
            }
        }
    }

    /// A large GEMM of convolution shape (the 256→256 3×3 layer of ResNet-18 at batch 32 as
    /// im2col sees it) whose rate, measured in the same run, sets each step's floor.
    static let floorGEMM = (m: 256, k: 2304, n: 2048)

    /// Rounds of ``gemmRate()``, each a median of ≥ 10 runs.
    static let gemmRateRounds = 3

    /// The GFLOP/s of ``floorGEMM``: the best of ``gemmRateRounds`` medians of ≥ 10 runs each, so
    /// that a burst of load does not lower every floor of the run.
    static func gemmRate() -> Double {
        let (m, k, n) = floorGEMM
        let a = KernelBenchmarks.randomBuffer(m * k, seed: 1), b = KernelBenchmarks.randomBuffer(k * n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        let ms = (0..<gemmRateRounds).map { _ in
            BenchmarkClock.medianMilliseconds {
                sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n)
            }
        }.min()!
        return 2 * Double(m * k * n) / ms / 1e6
    }

    /// Steps run under a ``KernelProfile`` for the FLOP count and the per-kernel shares.
    static let profiledSteps = 3

    /// About how long the interleaved steps of one model run (10–60 rounds of one step of each
    /// variant; ResNet-18's pair takes about 0.9 s, SmallCNN's 0.15 s).
    static let stepBudgetMilliseconds = 15_000.0

    /// Prints one JSON line per case: the step's `ms` (the median of its steps, the variants of
    /// a model alternating step by step: `BenchmarkClock.interleaved`), `steps` (how many), the
    /// GEMM and convolution FLOPs of a step (`gflop`), its floor at the measured GEMM rate
    /// (`floor_ms` = gflop ÷ rate) and the ratio to it, LCNN's ratio to Standard (the median over
    /// the rounds of LCNN's step ÷ the Standard step beside it) with a distribution-free 95 %
    /// interval for that median (`ratio_to_standard_interval`), and with `profile` each kernel's
    /// share of the step (``KernelProfile``; `other` is time outside the kernels). Lines go to
    /// `emit` as they are measured; the kernels run with the caller's ``KernelSettings``.
    public static func run(filter: String?, profile: Bool, emit: BenchmarkLines) {
        let rate = gemmRate()
        emit("{\"name\": \"gemm_rate\", \"shape\": \"\(floorGEMM.m)x\(floorGEMM.k)x\(floorGEMM.n)\", "
             + "\"gflops\": \(String(format: "%.2f", rate))}")
        for kind in Model.allCases {
            let variants = [false, true].filter { lcnn in
                filter.map { "\(kind.shortName) \(lcnn ? "lcnn" : "standard")".contains($0) } ?? true
            }
            let steps = variants.map { Step(model: kind, method: $0 ? .lcnn : .standard) }
            if steps.isEmpty { continue }
            let timed = BenchmarkClock.interleaved(steps.map { step in { _ = step() } }, budgetMilliseconds: stepBudgetMilliseconds)
            let medians = timed.medians
            for (i, lcnn) in variants.enumerated() {
                let ms = medians[i]
                let recorder = KernelProfile()
                let profiledMs = BenchmarkClock.milliseconds { recorder.recording { for _ in 0..<profiledSteps { steps[i]() } } }
                let entries = recorder.entries
                let gflop = entries.values.reduce(0) { $0 + $1.flops } / Double(profiledSteps) / 1e9
                let floor = gflop / rate * 1e3
                var line = "{\"name\": \"train_step\", \"model\": \"\(kind.shortName)\", \"variant\": \"\(lcnn ? "lcnn" : "standard")\", "
                    + "\"batch\": \(kind.trainBatch), \"ms\": \(String(format: "%.3f", ms)), \"steps\": \(timed.rounds), "
                    + "\"gflop\": \(String(format: "%.3f", gflop)), \"floor_ms\": \(String(format: "%.3f", floor)), "
                    + "\"ratio_to_floor\": \(String(format: "%.2f", ms / floor))"
                if lcnn && steps.count == 2 {
                    line += ", \"ratio_to_standard\": \(String(format: "%.3f", timed.medianRatio(1, over: 0)))"
                    if let interval = timed.medianRatioInterval(1, over: 0) {
                        line += ", \"ratio_to_standard_interval\": [\(String(format: "%.3f", interval.lower)), "
                            + "\(String(format: "%.3f", interval.upper))]"
                    }
                }
                if profile { line += ", \"profile\": " + shares(entries, totalMilliseconds: profiledMs) }
                emit(line + "}")
            }
        }
    }

    /// `{"kernel": share, …, "other": share}`, largest first, shares of `totalMilliseconds`.
    static func shares(_ entries: [String: KernelProfile.Entry], totalMilliseconds: Double) -> String {
        let total = totalMilliseconds / 1e3
        var parts = entries.sorted { $0.value.seconds > $1.value.seconds }.map { ($0.key, $0.value.seconds / total) }
        parts.append(("other", Swift.max(0, 1 - parts.reduce(0) { $0 + $1.1 })))
        return "{" + parts.map { "\"\($0.0)\": \(String(format: "%.3f", $0.1))" }.joined(separator: ", ") + "}"
    }
}
