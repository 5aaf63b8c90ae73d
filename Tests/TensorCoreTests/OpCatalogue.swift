import TensorCore
import _TestSupport

/// One gradient-check entry for a primitive of ``Op``: small inputs and a function that records
/// that primitive (composed with a nonlinearity where the primitive is linear, so that the second
/// order check differentiates its rule again). Piecewise-constant ops get the function that
/// applies them; their check is that nothing is recorded.
struct OpCheck: Sendable {
    let inputs: @Sendable () -> [Tensor]
    let f: @Sendable ([Tensor]) -> Tensor

    init(_ inputs: @escaping @Sendable () -> [Tensor], _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
        (self.inputs, self.f) = (inputs, f)
    }
}

/// The gradient-check catalogue: one entry per ``Op`` (`OpCoverageTests` fails, naming the op,
/// for a case without one). Inputs follow the GradCheck*Tests suites: values away from kinks and
/// singularities, distinct values where a maximum or a clamp decides.
enum OpCatalogue {
    static let entries: [Op: OpCheck] = elementwise.merging(structural) { a, _ in a }.merging(layers) { a, _ in a }

    static func normal(_ shape: [Int], _ seed: UInt64, std: Float = 1) -> Tensor { Fixtures.normal(shape, seed: seed, std: std) }
    static func positive(_ shape: [Int], _ seed: UInt64) -> Tensor { Fixtures.uniform(shape, seed: seed, low: 0.5, high: 2) }

    /// ∇ₓ⟨f(x), g⟩, recorded: how rules that only appear in backward passes (the adjoints) are reached.
    static func vectorJacobian(_ y: (Tensor) -> Tensor, at x: Tensor, _ g: Tensor) -> Tensor {
        gradients(of: (y(x) * g).sum(), wrt: [x], createGraph: true)[0]
    }

    static let elementwise: [Op: OpCheck] = [
        .add: OpCheck({ [normal([3, 4], 1), normal([4], 2)] }) { square($0[0] + $0[1]) },
        .subtract: OpCheck({ [normal([3, 4], 3), normal([3, 1], 4)] }) { square($0[0] - $0[1]) },
        .multiply: OpCheck({ [normal([3, 4], 5), normal([3, 1], 6)] }) { $0[0] * $0[1] },
        .divide: OpCheck({ [normal([3, 4], 7), Fixtures.uniform([4], seed: 8, low: 0.5, high: 1.5)] }) { $0[0] / $0[1] },
        .pow: OpCheck({ [positive([3, 4], 9), normal([3, 4], 10, std: 0.5)] }) { pow($0[0], $0[1]) },
        .powConstant: OpCheck({ [positive([3, 4], 11)] }) { pow($0[0], 2.5) },
        .maximum: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 12) }) { square(maximum($0[0], $0[1])) },
        .minimum: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 13) }) { square(minimum($0[0], $0[1])) },
        .negate: OpCheck({ [normal([3, 4], 14)] }) { square(-$0[0]) },
        .clamp: OpCheck({ [Fixtures.distinct([3, 4], seed: 15, spacing: 0.1) + 0.03] }) { square(clamp($0[0], min: -0.5, max: 0.5)) },
        .exp: OpCheck({ [normal([3, 4], 16)] }) { exp($0[0]) },
        .log: OpCheck({ [positive([3, 4], 17)] }) { log($0[0]) },
        .log1p: OpCheck({ [Fixtures.uniform([3, 4], seed: 18, low: -0.5, high: 2)] }) { log1p($0[0]) },
        .sqrt: OpCheck({ [positive([3, 4], 19)] }) { sqrt($0[0]) },
        .abs: OpCheck({ [Fixtures.awayFromZero([3, 4], seed: 20)] }) { square(abs($0[0])) * abs($0[0]) },
        .sigmoid: OpCheck({ [normal([3, 4], 21, std: 2)] }) { sigmoid($0[0]) },
        .tanh: OpCheck({ [normal([3, 4], 22)] }) { tanh($0[0]) },
        .relu: OpCheck({ [Fixtures.awayFromZero([3, 4], seed: 23)] }) { square(relu($0[0])) },
        .square: OpCheck({ [normal([3, 4], 24)] }) { square($0[0]) },
        .reciprocal: OpCheck({ [Fixtures.uniform([3, 4], seed: 25, low: 0.5, high: 1.5)] }) { reciprocal($0[0]) },
        .scaledSigmoid: OpCheck({ [normal([3, 4], 26), Tensor(Float(1.5))] }) { scaledSigmoid($0[0], beta: $0[1]) },
        .softplus: OpCheck({ [normal([3, 4], 27), Tensor(Float(2))] }) { softplus($0[0], beta: $0[1]) },
        .centeredSoftplus: OpCheck({ [normal([3, 4], 28), Tensor(Float(0.7))] }) { softplus($0[0], beta: $0[1], centered: true) },
        .where: OpCheck({ [normal([3, 4], 29), normal([4], 30)] }) {
            square(`where`(Fixtures.normal([3, 4], seed: 31).greater(0), $0[0], $0[1]))
        },
        .greater: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 32) }) { $0[0].greater($0[1]) },
        .greaterEqual: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 33) }) { $0[0].greaterEqual($0[1]) },
        .less: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 34) }) { $0[0].less($0[1]) },
        .lessEqual: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 35) }) { $0[0].lessEqual($0[1]) },
        .equal: OpCheck({ distinctTensors([[3, 4], [3, 4]], seed: 36) }) { $0[0].equal($0[1]) },
        .sign: OpCheck({ [Fixtures.awayFromZero([3, 4], seed: 37)] }) { sign($0[0]) },
    ]

    static let structural: [Op: OpCheck] = [
        .sum: OpCheck({ [normal([2, 3, 4], 41)] }) { square($0[0].sum(axes: [1])) },
        .reshape: OpCheck({ [normal([2, 3, 4], 42)] }) { square($0[0].reshaped(to: [6, 4])) },
        .permute: OpCheck({ [normal([2, 3, 4], 43)] }) { square($0[0].permuted([2, 0, 1])) },
        .expand: OpCheck({ [normal([3, 1], 44)] }) { square($0[0].expanded(to: [2, 3, 4])) },
        .gather: OpCheck({ [normal([2, 3], 45)] }) { square($0[0].gathered(flatIndices: [0, 5, 5, 2], shape: [2, 2])) },
        .scatterAdd: OpCheck({ [normal([4], 46)] }) { square($0[0].scatterAdded(flatIndices: [1, 0, 1, 3], shape: [5])) },
        .slice: OpCheck({ [normal([2, 3, 4], 47)] }) { square($0[0].sliced(axis: 1, 1..<3)) },
        .place: OpCheck({ [normal([2, 2, 4], 48)] }) { square($0[0].placed(into: [2, 5, 4], axis: 1, at: 2)) },
        .concatenate: OpCheck({ [normal([1, 3], 49), normal([2, 3], 50)] }) { square(concatenate($0, axis: 0)) },
        .matmul: OpCheck({ [normal([3, 4], 51), normal([4, 2], 52)] }) { tanh(matmul($0[0], $0[1])) },
        .sumAcrossReplicas: OpCheck({ [normal([3, 4], 53)] }) { square(sumAcrossReplicas($0[0], MirroredReplica())) },
    ]

    static let layers: [Op: OpCheck] = [
        .conv2d: OpCheck({ [normal([1, 2, 5, 5], 61), normal([3, 2, 3, 3], 62, std: 0.5)] }) {
            conv2d($0[0], weight: $0[1], stride: 1, padding: 1)
        },
        .convTranspose2d: OpCheck({ [normal([1, 3, 3, 3], 63), normal([3, 2, 3, 3], 64, std: 0.5)] }) {
            convTranspose2d($0[0], weight: $0[1], stride: 2, padding: 1)
        },
        .conv2dWeightGrad: OpCheck({ [normal([1, 2, 5, 5], 65), normal([1, 3, 5, 5], 66)] }) {
            conv2dWeightGradient(input: $0[0], gradOutput: $0[1], kernelSize: (3, 3), stride: 1, padding: 1)
        },
        .scaledSum: OpCheck({ [normal([2, 3, 2], 176), normal([2, 3, 2], 177)] }) {
            square(scaledSum($0[0], $0[1], scale: 0.5)) * $0[0]
        },
        .scaledSumSoftplus: OpCheck({ [normal([2, 3, 3], 184), normal([2, 3, 3], 185), Tensor(Float(1.3))] }) {
            scaledSumSoftplus($0[0], $0[1], scale: 0.5, beta: $0[2], centered: true) * $0[0]
        },
        .dividedByInnerProduct: OpCheck({ [normal([3, 4], 67)] }) {
            tanh(dividedByInnerProduct($0[0], with: Fixtures.normal([3, 4], seed: 68)) * 3)
        },
        .spectrallyNormalizedConv2d: OpCheck({ [normal([2, 2, 4, 4], 182), normal([3, 2, 3, 3], 183, std: 0.5)] }) {
            let pair = SpectrallyNormalizedConvolutionTests.pair(weight: normal([3, 2, 3, 3], 183, std: 0.5), size: 4, seed: 184)
            return tanh(spectrallyNormalizedConv2d($0[0], weight: $0[1], u: pair.u, v: pair.v, padding: 1) * 2)
        },
        .spectralNormSigma: OpCheck({ [normal([3, 5], 69)] }) {
            $0[0] / spectralNormSigma($0[0], u: Fixtures.normal([3], seed: 70), v: Fixtures.normal([5], seed: 71))
        },
        .maxPool2d: OpCheck({ [Fixtures.distinct([1, 2, 4, 4], seed: 72)] }) { square($0[0].maxPool2d(kernelSize: 2)) },
        .avgPool2d: OpCheck({ [normal([1, 2, 4, 4], 73)] }) { square($0[0].avgPool2d(kernelSize: 2)) },
        .avgPool2dBackward: OpCheck({ [normal([1, 2, 2, 2], 74)] }) {
            square(vectorJacobian({ $0.avgPool2d(kernelSize: 2) }, at: Fixtures.normal([1, 2, 4, 4], seed: 75).requiringGrad(), $0[0]))
        },
        .batchNorm: OpCheck({ [normal([4, 3], 76), normal([3], 77), normal([3], 78)] }) {
            batchNorm($0[0], runningMean: .zeros([3]), runningVar: .ones([3]), weight: $0[1], bias: $0[2], training: true)
        },
        .batchNormInputGradient: OpCheck({ [normal([6, 3], 79), normal([3], 80), normal([6, 3], 81)] }) { v in
            vectorJacobian({ batchNorm($0, runningMean: .zeros([3]), runningVar: .ones([3]), weight: v[1], training: true) },
                           at: v[0], v[2])
        },
        .batchNormEval: OpCheck({ [normal([4, 3], 82), normal([3], 83), normal([3], 84)] }) {
            tanh(batchNorm($0[0], runningMean: Tensor([0.2, -0.1, 0.5]), runningVar: Tensor([0.5, 2, 1.3]),
                           weight: $0[1], bias: $0[2], training: false))
        },
        .batchNormSoftplus: OpCheck({ [normal([1, 2, 8, 8], 85), normal([2], 86), normal([2], 87), Tensor(Float(1.5))] }) {
            batchNormSoftplus($0[0], runningMean: .zeros([2]), runningVar: .ones([2]), weight: $0[1], bias: $0[2], beta: $0[3],
                              centered: true, training: true)
        },
    ]
}
