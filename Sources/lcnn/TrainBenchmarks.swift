import Foundation
import NN
import TensorCore

/// `lcnn bench train`: median milliseconds of one training step (forward, loss, backward,
/// SGD update) for the models and batch sizes of `shared/bench/peers` (task T1):
/// MLP2D at batch 256, SmallCNN at 128, ResNet-18 at 32, each Standard and LCNN.
/// SGD uses lr 0.01, momentum 0.9 and weight decay 5e-4 on every parameter, as the peers do.
enum TrainBenchmarks {
    struct Case {
        let model: String
        let config: ModelConfig
        let batch: Int
    }

    static func cases() -> [Case] {
        var list: [Case] = []
        for lcnn in [false, true] {
            list.append(Case(model: "mlp2d", config: ModelConfig(architecture: .mlp, lcnn: lcnn, classes: 2, hiddenWidths: [64, 64], batchNorm: false, seed: 1), batch: 256))
            list.append(Case(model: "smallcnn", config: ModelConfig(architecture: .smallcnn, lcnn: lcnn, seed: 1), batch: 128))
            list.append(Case(model: "resnet18", config: ModelConfig(architecture: .resnet18, lcnn: lcnn, seed: 1), batch: 32))
        }
        return list
    }

    static func run(filter: String?) {
        for c in cases() {
            let variant = c.config.lcnn ? "lcnn" : "standard"
            if let filter, !"\(c.model) \(variant)".contains(filter) { continue }
            let model = c.config.makeModel()
            var g = SeededGenerator(seed: 7)
            let x = c.config.architecture == .mlp
                ? Tensor.normal([c.batch] + c.config.inputShape, generator: &g)
                : Tensor.uniform([c.batch] + c.config.inputShape, generator: &g)
            let labels = (0..<c.batch).map { _ in g.nextInt(below: c.config.classes) }
            let optimizer = SGD(parameters: model.namedParameters, learningRate: 0.01, momentum: 0.9,
                                weightDecay: 5e-4, decayAll: true)
            let penalty = LCNNPenalty.paper
            let ms = BenchmarkClock.medianMilliseconds {
                training {
                    var loss = crossEntropy(logits: model(x), labels: labels)
                    if c.config.lcnn { loss = loss + penalty(model) }
                    optimizer.zeroGrad()
                    loss.backward()
                    optimizer.step()
                }
            }
            print("{\"name\": \"train_step\", \"model\": \"\(c.model)\", \"variant\": \"\(variant)\", "
                  + "\"batch\": \(c.batch), \"ms\": \(String(format: "%.3f", ms))}")
            fflush(nil)
        }
    }
}
