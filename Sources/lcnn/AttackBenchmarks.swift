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
    static func run() {
        let config = ModelConfig(architecture: .smallcnn, seed: 1)
        let model = config.makeModel()
        let images = 256, steps = 10
        var g = SeededGenerator(seed: 7)
        let x = Tensor.uniform([images] + config.inputShape, generator: &g)
        let labels = (0..<images).map { _ in g.nextInt(below: config.classes) }
        let pgd = PGD(norm: .l2, epsilon: 0.1, steps: steps, stepSize: 0.01, randomStart: true, inputRange: 0...1)
        let classifier: Classifier = { model($0) }
        let ms = BenchmarkClock.medianMilliseconds {
            inference {
                var start = SeededGenerator(seed: 11)
                _ = pgd.attack(classifier, x, labels: labels, generator: &start)
            }
        }
        print("{\"name\": \"pgd_l2\", \"model\": \"smallcnn\", \"variant\": \"standard\", "
              + "\"images\": \(images), \"steps\": \(steps), \"ms\": \(String(format: "%.3f", ms))}")
        fflush(nil)
    }
}
