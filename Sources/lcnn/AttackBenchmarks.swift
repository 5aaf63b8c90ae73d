import Foundation
import LCNNKit
import NN
import TensorCore

/// `lcnn bench attack`: the peers' task T3 (`shared/bench/peers`, "pgd_l2"): median milliseconds of
/// a 10-step ℓ2 PGD attack (ε = 0.1, step size 0.01, random uniform[−ε, ε] start projected to
/// the ball, clamp to [0, 1]) on 256 uniform [0, 1] 1×28×28 images with random labels, against
/// SmallCNN Standard (`ModelConfig(architecture: .smallcnn, seed: 1)`) in evaluation mode.
/// Each run reseeds the random start, so every run does the same work.
enum AttackBenchmarks {
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

    static func run() {
        let attack = makeAttack()
        let ms = BenchmarkClock.medianMilliseconds { _ = attack() }
        print("{\"name\": \"pgd_l2\", \"model\": \"smallcnn\", \"variant\": \"standard\", "
              + "\"images\": \(images), \"steps\": \(steps), \"ms\": \(String(format: "%.3f", ms))}")
        fflush(nil)
    }
}
