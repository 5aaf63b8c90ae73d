import Foundation
import LCNNKit
import NN
import TensorCore

/// `lcnn bench attack`: the peers' task T3 (`shared/bench/peers`, "pgd_l2"): median milliseconds of
/// a 10-step ℓ2 PGD attack (ε = 0.1, step size 0.01, random uniform[−ε, ε] start projected to
/// the ball, clamp to [0, 1]) on 256 uniform [0, 1] 1×28×28 images with random labels, against
/// SmallCNN Standard (`ModelConfig(architecture: .smallcnn, seed: 1)`) in evaluation mode.
/// Each run reseeds the random start, so every run does the same work. Then APGD-CE against PGD
/// with the same number of gradient evaluations (``compareAPGD(images:iterations:repeats:emit:)``).
public enum AttackBenchmarks {
    static let images = 256, steps = 10
    static let epsilon: Float = 0.1, stepSize: Float = 0.01

    /// The model, batch and attack of the task; each call runs one whole attack and returns
    /// the adversarial examples and the clean inputs.
    static func makeAttack() -> () -> (adversarial: Tensor, clean: Tensor) {
        let config = ModelConfig(architecture: .smallcnn, seed: 1)
        let model = config.makeModel()
        let (x, labels) = TrainBenchmarks.batch(config, size: images)
        let pgd = PGD(norm: .l2, epsilon: epsilon, steps: steps, stepSize: stepSize, randomStart: true, inputRange: 0...1)
        let classifier: Classifier = { model($0) }
        return {
            inference {
                var start = SeededGenerator(seed: 11)
                return (pgd.attack(classifier, x, labels: labels, generator: &start), x)
            }
        }
    }

    /// The PGD task's line, then (with `apgdImages` > 0) the APGD-CE vs PGD lines, each to `emit`.
    public static func run(apgdImages: Int, apgdIterations: Int, repeats: Int, emit: BenchmarkLines) {
        let attack = makeAttack()
        let ms = BenchmarkClock.medianMilliseconds { _ = attack() }
        emit("{\"name\": \"pgd_l2\", \"model\": \"smallcnn\", \"variant\": \"standard\", "
             + "\"images\": \(images), \"steps\": \(steps), \"ms\": \(String(format: "%.3f", ms))}")
        if apgdImages > 0 { compareAPGD(images: apgdImages, iterations: apgdIterations, repeats: repeats, emit: emit) }
    }

    /// APGD-CE with N iterations (N + 1 gradient evaluations: the start and each step) against ℓ2
    /// PGD with N + 1 steps — the same number of gradient evaluations — on the same SmallCNN and
    /// images (ε = 0.5, batches of 250), run alternately `repeats` times; medians and their ratio.
    /// The labels are the model's own predictions, so every image starts correctly classified and
    /// APGD (which attacks only those) optimises all of them for all its iterations, as PGD does.
    /// The ratio is then APGD's bookkeeping (momentum, two projections, per-sample step sizes, best
    /// points, checkpoints) on top of the gradients both pay.
    static func compareAPGD(images: Int, iterations: Int, repeats: Int, emit: BenchmarkLines) {
        let config = ModelConfig(architecture: .smallcnn, seed: 1)
        let model = config.makeModel()
        let x = TrainBenchmarks.batch(config, size: images).x
        let classifier: Classifier = { model($0) }
        let labels = inference { classifier(x).argmax(axis: -1) }
        let batches = stride(from: 0, to: images, by: 250).map { Array($0..<min(images, $0 + 250)) }
        let pgd = PGD(norm: .l2, epsilon: 0.5, steps: iterations + 1, randomStart: true, inputRange: 0...1)
        let apgd = APGD(norm: .l2, epsilon: 0.5, iterations: iterations, inputRange: 0...1)
        var pgdTimes: [Double] = [], apgdTimes: [Double] = []
        for _ in 0..<repeats {
            pgdTimes.append(BenchmarkClock.milliseconds {
                inference {
                    var g = SeededGenerator(seed: 3)
                    for rows in batches { _ = pgd.attack(classifier, x.samples(rows), labels: rows.map { labels[$0] }, generator: &g) }
                }
            })
            apgdTimes.append(BenchmarkClock.milliseconds {
                inference {
                    var g = SeededGenerator(seed: 3)
                    for rows in batches { _ = apgd.attack(classifier, x.samples(rows), labels: rows.map { labels[$0] }, generator: &g) }
                }
            })
        }
        let (p, a) = (BenchmarkClock.Statistics(pgdTimes).median, BenchmarkClock.Statistics(apgdTimes).median)
        emit("{\"name\": \"pgd_l2_same_gradients\", \"model\": \"smallcnn\", \"images\": \(images), \"gradient_evaluations\": \(iterations + 1), "
              + "\"ms\": \(String(format: "%.1f", p))}")
        emit("{\"name\": \"apgd_ce_l2\", \"model\": \"smallcnn\", \"images\": \(images), \"iterations\": \(iterations), "
              + "\"ms\": \(String(format: "%.1f", a)), \"ratio_to_pgd\": \(String(format: "%.3f", a / p))}")
    }
}
