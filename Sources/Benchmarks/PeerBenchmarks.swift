import Foundation
import LCNNKit
import NN
import TensorCore
import TensorKernels

/// `lcnn bench peers`: the tasks of the PyTorch/JAX peer baselines (`shared/bench/peers`,
/// `torch_bench.py`, README "Task definitions"), with the same ids, definitions and JSON
/// schema, so `summarize.py` shows the results as a `swift` column next to theirs.
///
/// - T1 `train_step`: one training step (train mode: batch statistics, dropout, one
///   spectral-norm power step) of MLP2D (batch 256), SmallCNN (128) and ResNet18 (32), for the
///   variants standard, lcnn, gradreg and lcnn+gradreg: mean cross-entropy, plus
///   `1e-4·Σ log β + 1e-5·Σ log γ` (lcnn), plus the input-gradient penalty by double backprop
///   (gradreg), then backward and SGD (lr 0.01, momentum 0.9, weight decay 5e-4 on every
///   parameter) — ``TrainBenchmarks/Step``.
/// - T2 `hessian_power_iter`: SmallCNN standard, eval mode, batch 32, 10 power iterations plus
///   the final Rayleigh quotient (11 HVPs) — ``CurvatureBenchmarks/makeEstimate()``.
/// - T3 `pgd_l2`: SmallCNN standard, eval mode, 256 images, ℓ2 PGD with ε 0.1, 10 steps of
///   0.01, random start uniform[−ε, ε] projected to the ball, clamp to [0, 1] —
///   ``AttackBenchmarks/makeAttack()``.
/// - T4 `inference`: eval-mode forward without gradient recording, SmallCNN on 1024 images and
///   ResNet18 on 128, standard and lcnn.
///
/// Inputs are x ~ N(0, 1) (MLP2D) or U[0, 1) (images) with uniform labels, drawn from the
/// toolkit's seeded generator (the same distributions as the peers, not the same numbers).
///
/// Where the toolkit's definition differs from the peer's:
/// - GradReg scaling. The peers add `1e-3·‖∂CE̅/∂x‖²` with CE̅ the batch mean, i.e.
///   `1e-3/B²·Σᵢ‖∇ₓℓᵢ‖²`; the toolkit's ``ObjectiveOptions/gradientPenaltyWeight`` λg is
///   applied as `λg/B·Σᵢ‖∇ₓℓᵢ‖²` (B times larger at the same λg). By default this command
///   matches the peers by running the toolkit's objective with λg = 1e-3/B (the same work:
///   one double-backprop input gradient); `--gradreg-scale toolkit` uses λg = 1e-3 instead.
/// - Spectral-norm convolutions compute σ̂ = ⟨u, conv(v; W)⟩ as ⟨W, ∇_W⟨u, conv(v; W)⟩⟩ (one
///   single-image weight-gradient convolution, the same value), and take their u, v
///   initialisation at construction for the model's input size rather than in a first
///   forward; neither changes what a timed step computes.
/// - Timing: `warmup` untimed runs, then `reps` timed runs, all kept. The peers' `benchutil`
///   additionally waits for an idle machine and discards repetitions disturbed by other
///   processes; this command does not, so run it on an idle machine.
public enum PeerBenchmarks {
    /// `framework_version` of the records (the toolkit has no release numbering yet).
    static let frameworkVersion = "lcnn-0.1"

    /// How the GradReg penalty is scaled (see the type's documentation).
    public enum GradRegScale: String, CaseIterable, Sendable {
        /// The peers': `1e-3·‖∂(mean CE)/∂x‖²` = `1e-3/B²·Σᵢ‖∇ₓℓᵢ‖²`.
        case peer
        /// The toolkit's: `1e-3/B·Σᵢ‖∇ₓℓᵢ‖²`.
        case toolkit

        /// The toolkit's λg that gives this scaling at batch size `batch`.
        func weight(batch: Int) -> Float {
            self == .peer ? 1e-3 / Float(batch) : 1e-3
        }
    }

    /// One task of the table: its peer id and record fields, and how to prepare it. `prepare`
    /// builds the model and data (not timed) and returns the timed body, which returns the
    /// sanity values of the record's `check`.
    public struct Task {
        let id: String
        let task: String
        let model: String
        let variant: String
        let batch: Int
        /// Task parameters the peers also record (`power_iters`, `eps`, …).
        var parameters: [String: Any] = [:]
        let prepare: (GradRegScale) -> () -> [String: Double]
    }

    /// The peers' T1 variants, in their order.
    static let variants: [(name: String, method: TrainingMethod)] =
        [("standard", .standard), ("lcnn", .lcnn), ("gradreg", .gradreg), ("lcnn+gradreg", .lcnnGradreg)]

    /// Every task, in the peers' order (`torch_bench.py`'s job list).
    static var tasks: [Task] {
        var list: [Task] = []
        for kind in TrainBenchmarks.Model.allCases {
            for (variant, method) in variants {
                list.append(Task(id: "T1/\(kind.rawValue)/\(variant)", task: "T1_train_step", model: kind.rawValue,
                                 variant: variant, batch: kind.trainBatch) { scale in
                    let step = TrainBenchmarks.Step(model: kind, method: method,
                                                    gradientPenaltyWeight: scale.weight(batch: kind.trainBatch))
                    return { ["final_loss": Double(step().item)] }
                })
            }
        }
        list.append(Task(id: "T2/SmallCNN/standard", task: "T2_hessian_power_iter", model: "SmallCNN", variant: "standard",
                         batch: CurvatureBenchmarks.batch, parameters: ["power_iters": CurvatureBenchmarks.iterations]) { _ in
            let estimate = CurvatureBenchmarks.makeEstimate()
            return {
                let r = estimate()
                return ["mean_hess_sv": MeanStd(r.spectralNorm).mean, "mean_curvature": MeanStd(r.curvature).mean,
                        "mean_gnorm": MeanStd(r.gradientNorm).mean]
            }
        })
        list.append(Task(id: "T3/SmallCNN/standard", task: "T3_pgd_l2", model: "SmallCNN", variant: "standard",
                         batch: AttackBenchmarks.images,
                         parameters: ["eps": Double(AttackBenchmarks.epsilon), "steps": AttackBenchmarks.steps,
                                      "step_size": Double(AttackBenchmarks.stepSize)]) { _ in
            let attack = AttackBenchmarks.makeAttack()
            return {
                let (adversarial, clean) = attack()
                return ["mean_delta_l2": Double((adversarial - clean).perSampleNorm().mean().item)]
            }
        })
        for (kind, batch) in [(TrainBenchmarks.Model.smallCNN, 1024), (.resnet18, 128)] {
            for variant in ["standard", "lcnn"] {
                list.append(Task(id: "T4/\(kind.rawValue)/\(variant)", task: "T4_inference", model: kind.rawValue,
                                 variant: variant, batch: batch) { _ in
                    let config = kind.config(lcnn: variant == "lcnn")
                    let model = config.makeModel()
                    let x = TrainBenchmarks.batch(config, size: batch).x
                    return {
                        let out = inference { withoutGrad { model(x) } }
                        return ["mean_logit": Double(out.mean().item)]
                    }
                })
            }
        }
        return list
    }

    /// The tasks whose id contains any of the comma-separated `only` filters (all without one).
    public static func selected(only: String?) -> [Task] {
        let filters = (only ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        return filters.isEmpty ? tasks : tasks.filter { task in filters.contains { task.id.contains($0) } }
    }

    /// The kernel thread count: `BENCH_THREADS` when set (as for the peers), else 2.
    static func threadCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        environment["BENCH_THREADS"].flatMap { Int($0) }.map { max(1, $0) } ?? 2
    }

    /// Rounds to 3 decimals, as the peers do.
    static func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    /// One record in the peers' schema.
    static func record(for task: Task, statistics s: BenchmarkClock.Statistics, warmup: Int, threads: Int,
                       gradRegScale: GradRegScale, check: [String: Double]) -> [String: Any] {
        var r: [String: Any] = [
            "framework": "swift", "label": "swift", "framework_version": frameworkVersion, "threads": threads,
            "task": task.task, "model": task.model, "variant": task.variant, "batch": task.batch,
            "median_ms": rounded(s.median), "min_ms": rounded(s.min), "mean_ms": rounded(s.mean), "max_ms": rounded(s.max),
            "warmup": warmup, "reps": s.runs, "check": check,
        ]
        r.merge(task.parameters) { a, _ in a }
        if task.variant.contains("gradreg") { r["gradreg_scale"] = gradRegScale.rawValue }
        return r
    }

    /// A record as one line of JSON (sorted keys).
    static func jsonLine(_ record: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs one task: prepares it, then `warmup` untimed and `reps` timed runs.
    static func measure(_ task: Task, warmup: Int, reps: Int, threads: Int, gradRegScale: GradRegScale) -> [String: Any] {
        KernelSettings.with({ $0.threads = threads }) {
            let body = task.prepare(gradRegScale)
            var check: [String: Double] = [:]
            let s = BenchmarkClock.measure(warmup: warmup, reps: reps) { check = body() }
            return record(for: task, statistics: s, warmup: warmup, threads: threads, gradRegScale: gradRegScale, check: check)
        }
    }

    /// Runs the selected tasks, passing each record's line to `emit` and appending it to `out`
    /// when given.
    public static func run(only: String?, warmup: Int, reps: Int, out: String?, gradRegScale: GradRegScale,
                           emit: BenchmarkLines) throws {
        let threads = threadCount()
        for task in selected(only: only) {
            let line = try jsonLine(measure(task, warmup: warmup, reps: reps, threads: threads, gradRegScale: gradRegScale))
            emit(line)
            if let out { try append(line + "\n", to: out) }
        }
    }

    static func append(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: nil)   // a failure surfaces as FileHandle's error below
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}
