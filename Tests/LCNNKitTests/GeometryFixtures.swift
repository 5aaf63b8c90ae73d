import LCNNKit
import TensorCore

/// Hand-made classifiers with known decision boundaries, built from Tensor ops so that input
/// gradients exist (geometry tests, SPEC V4–V6).
enum GeometryFixtures {
    /// Affine 2-D classifier, logits = x·W + bias, with `weights[k]` the weight vector of class k.
    static func linear(weights: [[Float]], bias: [Float]) -> Classifier {
        let classes = weights.count
        var w = [Float](repeating: 0, count: 2 * classes)
        for k in 0..<classes { w[k] = weights[k][0]; w[classes + k] = weights[k][1] }
        let matrix = Tensor(w, shape: [2, classes]), b = Tensor(bias, shape: [1, classes])
        return { x in matmul(x, matrix) + b }
    }

    /// 2-D: class 0 outside the disc of `radius` around `centre` (a non-convex region), class 1
    /// inside; logits [r − R, R − r] with r = ‖x − centre‖₂.
    static func outsideDisc(centre: [Float], radius: Float) -> Classifier {
        let c = Tensor(centre, shape: [1, centre.count])
        return { x in
            let r = sqrt(square(x.flattened() - c).sum(axes: [1], keepDims: true))
            return concatenate([r - radius, radius - r], axis: 1)
        }
    }

    /// 2-D points (a, b): class 1 iff a > k/2·b² + offset, class 0 otherwise. The boundary
    /// a = k/2·b² + offset has curvature k at b = 0.
    static func parabola(k: Float, offset: Float) -> Classifier {
        { x in
            let a = x.sliced(axis: 1, 0..<1), b = x.sliced(axis: 1, 1..<2)
            let s = a - square(b) * (k / 2) - offset
            return concatenate([-s, s], axis: 1)
        }
    }

    /// A small nonlinear 3-class classifier on any sample shape with `inputs` values:
    /// logits = tanh(x·W₁)·W₂ with seeded Gaussian weights.
    static func smallNetwork(inputs: Int, hidden: Int = 8, classes: Int = 3, seed: UInt64 = 11) -> Classifier {
        var g = SeededGenerator(seed: seed)
        let w1 = Tensor.normal([inputs, hidden], generator: &g)
        let w2 = Tensor.normal([hidden, classes], generator: &g)
        return { x in matmul(tanh(matmul(x.flattened(), w1)), w2) }
    }

    static func predicted(_ f: Classifier, _ x: Tensor) -> [Int] { withoutGrad { f(x) }.argmax(axis: -1) }
}
