import Datasets
import Foundation
import LCNNKit
import NN
import TensorCore

/// Small problems and measurements shared by the training tests: two moons with a tiny MLP,
/// tiny synthetic images for SmallCNN, temporary output directories, and independent
/// per-sample gradient and curvature computations.
enum TrainFixtures {
    /// Two moons, `count` points.
    static func moons(_ count: Int = 200, seed: UInt64 = 0) -> Dataset {
        TwoMoons.make(count: count, noise: 0.1, seed: seed)
    }

    /// A two-moons MLP configuration that trains in well under a second per epoch (debug build).
    static func moonsConfig(_ method: TrainingMethod, epochs: Int = 2, seed: UInt64 = 3) -> TrainConfig {
        var c = TrainConfig()
        c.dataset = .moons
        c.architecture = .mlp
        c.method = method
        c.epochs = epochs
        c.batchSize = 32
        c.hiddenWidths = [16, 16]
        c.seed = seed
        c.moonsCount = 200
        c.learningRate = 0.05
        return c
    }

    /// `count` random 1×`size`×`size` images in [0, 1] with labels cycling through `classes`.
    static func images(count: Int, size: Int = 12, classes: Int = 3, seed: UInt64) -> Dataset {
        var g = SeededGenerator(seed: seed)
        let x = Tensor.uniform([count, 1, size, size], generator: &g)
        return Dataset(name: "synthetic", images: x, labels: (0..<count).map { $0 % classes }, classes: classes)
    }

    /// A SmallCNN configuration on 12×12 synthetic images.
    static func smallCNNConfig(_ method: TrainingMethod, epochs: Int = 2) -> TrainConfig {
        var c = TrainConfig()
        c.dataset = .mnist
        c.architecture = .smallcnn
        c.method = method
        c.epochs = epochs
        c.batchSize = 8
        c.learningRate = 0.01
        c.seed = 11
        return c
    }

    /// A fresh, empty temporary directory.
    static func temporaryDirectory(_ tag: String) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("lcnnkit-tests-\(tag)-\(UUID().uuidString)", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A value copy of every tensor of a state dict.
    static func snapshot(_ tensors: [String: Tensor]) -> [String: [Float]] { tensors.mapValues(\.scalars) }

    /// Names whose values differ (bit for bit) between two snapshots, plus names only one side has.
    static func differences(_ a: [String: [Float]], _ b: [String: [Float]]) -> [String] {
        let names = Set(a.keys).union(b.keys)
        return names.filter { name in
            guard let x = a[name], let y = b[name], x.count == y.count else { return true }
            return zip(x, y).contains { $0.bitPattern != $1.bitPattern }
        }.sorted()
    }

    /// Rows `i..<i+1` of `x` as a one-sample batch.
    static func row(_ x: Tensor, _ i: Int) -> Tensor { x.sliced(axis: 0, i..<(i + 1)).copy() }

    /// ‖∇ₓℓ(xᵢ, yᵢ)‖ for each sample, one sample at a time, in evaluation mode.
    static func perSampleGradientNorms(_ model: any Layer, _ x: Tensor, _ labels: [Int]) -> [Float] {
        inference {
            (0..<labels.count).map { i in
                inputGradient(of: { model($0) }, at: row(x, i), labels: [labels[i]]).gradient.norm().item
            }
        }
    }

    /// ‖∇²ₓℓ(xᵢ, yᵢ)‖₂ for each sample by power iteration on Hessian-vector products (eval mode),
    /// with the gradient norms.
    static func curvature(_ model: any Layer, _ x: Tensor, _ labels: [Int], iterations: Int = 12)
        -> (gradientNorm: [Float], hessianNorm: [Float]) {
        inference {
            var g = SeededGenerator(seed: 1234)
            let input = x.detached().requiringGrad()
            func loss() -> Tensor { withGrad { crossEntropy(logits: model(input), labels: labels, reduction: .sum) } }
            let grad = gradients(of: loss(), wrt: [input])[0].perSampleNorm().scalars
            var v = withoutGrad { Tensor.normal(x.shape, generator: &g).perSampleNormalized() }
            var lambda = [Float](repeating: 0, count: labels.count)
            for _ in 0..<iterations {
                let hv = hvp(of: loss(), wrt: input, along: v)
                lambda = withoutGrad { hv.perSampleNorm() }.scalars
                v = withoutGrad { hv.perSampleNormalized() }
            }
            return (grad, lambda)
        }
    }

    static func mean(_ v: [Float]) -> Float { v.reduce(0, +) / Float(max(v.count, 1)) }
}
