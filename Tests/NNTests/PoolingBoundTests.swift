import Foundation
import Testing
import TensorCore
import NN
import _TestSupport

/// Pooling in the data-free curvature bound (SPEC B8; paper Theorem 1 / eq. 6): average pooling
/// is linear with Lipschitz constant ‖pool‖₂ (≤ ⌈k/s⌉/k), max-pooling has unbounded curvature at
/// ties and makes the bound undefined.
@Suite("Pooling in the curvature bound")
struct PoolingBoundTests {
    /// Largest singular value of a row-major `rows×cols` matrix by power iteration on MᵀM (Double),
    /// independent of the library's own computation.
    static func powerIterationSigma(_ m: [Double], rows: Int, cols: Int) -> Double {
        var v = (0..<cols).map { 1 + 0.01 * Double($0 % 7) }
        var lambda = 0.0
        for _ in 0..<20_000 {
            let mv = NNTestKit.multiply(m, rows: rows, cols: cols, v)
            let w = NNTestKit.multiplyTransposed(m, rows: rows, cols: cols, mv)
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let next = zip(v, w).reduce(0) { $0 + $1.0 * $1.1 } / v.reduce(0) { $0 + $1 * $1 }
            v = w.map { $0 / norm }
            if Swift.abs(next - lambda) <= 1e-15 * next { lambda = next; break }
            lambda = next
        }
        return lambda.squareRoot()
    }

    @Test("AvgPool2d's Lipschitz constant is the largest singular value of its explicit matrix",
          arguments: [(2, 2, 0, 8), (2, 2, 0, 7), (3, 1, 0, 7), (3, 2, 0, 9), (3, 2, 1, 8)])
    func averagePoolNorm(_ kernel: Int, _ stride: Int, _ padding: Int, _ size: Int) {
        let pool = AvgPool2d(kernelSize: kernel, stride: stride, padding: padding)
        let shape = [1, 2, size, size]
        let m = NNTestKit.explicitMatrix(inputShape: shape) { pool($0) }
        let sigma = Self.powerIterationSigma(m.m, rows: m.rows, cols: m.cols)
        #expect(NNTestKit.relativelyClose(sigma, NNTestKit.largestSingularValue(m.m, rows: m.rows, cols: m.cols), 1e-6))
        // The bound reads the last input size from the forward pass `compute` runs.
        let bound = CurvatureBound.compute(for: pool, inputShape: Array(shape.dropFirst()))
        #expect(NNTestKit.relativelyClose(pool.lipschitzConstant, sigma, 1e-7), "k \(kernel) s \(stride) p \(padding): \(pool.lipschitzConstant) vs σ \(sigma)")
        #expect(NNTestKit.relativelyClose(bound.lipschitzProduct, sigma, 1e-7))
        #expect(bound.terms.isEmpty && bound.isDefined && bound.value == 0, "linear: no curvature term")
        // The check tells a wrong constant apart: 1 (a "pooling is 1-Lipschitz" guess) fails.
        #expect(!NNTestKit.relativelyClose(1, sigma, 1e-3))
        // The closed form ⌈k/s⌉/k bounds it for every size, exactly for non-overlapping windows.
        let closed = AveragePoolingNorm.upperBound(kernelSize: kernel, stride: stride)
        #expect(sigma <= closed * (1 + 1e-9))
        if stride >= kernel { #expect(NNTestKit.relativelyClose(sigma, 1 / Double(kernel), 1e-7)) }
    }

    @Test("2×2/2 average pooling: Lipschitz exactly ½ (and ⌈k/s⌉/k before any input); 3×3/1 closed form 1, 3×3/2 ⅔")
    func averagePoolClosedForm() {
        #expect(AvgPool2d(kernelSize: 2).lipschitzConstant == 0.5)
        #expect(AveragePoolingNorm.upperBound(kernelSize: 2, stride: 2) == 0.5)
        #expect(AveragePoolingNorm.upperBound(kernelSize: 3, stride: 1) == 1)
        #expect(AveragePoolingNorm.upperBound(kernelSize: 3, stride: 2) == 2.0 / 3)
        let pool = AvgPool2d(kernelSize: 2)
        _ = pool(Tensor.zeros([1, 3, 24, 24]))
        #expect(pool.lipschitzConstant == 0.5)
        // Overlapping windows: per axis A·Aᵀ is tridiagonal (3 on the diagonal, 1 beside it, /9), with
        // eigenvalues (3 + 2cos θⱼ)/9 < 5/9, so ‖pool‖₂ = ‖A‖₂² → 5/9 on large images, below ⌈3/2⌉/3 = ⅔.
        let large = AveragePoolingNorm.operatorNorm(kernelSize: 3, stride: 2, padding: 0, height: 101, width: 101)
        #expect(large < 5.0 / 9 && large > 5.0 / 9 - 1e-3, "3×3/2 on 101×101: \(large)")
    }

    @Test("Global average pooling over H×W: Lipschitz 1/√(H·W), the explicit matrix's norm")
    func adaptivePoolNorm() {
        let pool = AdaptiveAvgPool2d()
        #expect(pool.lipschitzConstant == 1, "before any input: the valid upper bound 1")
        let m = NNTestKit.explicitMatrix(inputShape: [1, 2, 3, 5]) { pool($0) }
        let sigma = Self.powerIterationSigma(m.m, rows: m.rows, cols: m.cols)
        #expect(NNTestKit.relativelyClose(pool.lipschitzConstant, 1 / 15.0.squareRoot(), 1e-12))
        #expect(NNTestKit.relativelyClose(sigma, 1 / 15.0.squareRoot(), 1e-7))
    }

    @Test("MaxPool2d makes the bound undefined: +∞, a term of curvature +∞ and width C·H_out·W_out, its path named")
    func maxPoolUndefined() {
        let model = Sequential([Softplus(beta: 2), MaxPool2d(kernelSize: 2), Softplus(beta: 3)])
        let bound = CurvatureBound.compute(for: model, inputShape: [2, 4, 4])
        #expect(!bound.isDefined && bound.undefinedBy == ["1"])
        #expect(bound.value == .infinity && bound.logValue == .infinity)
        #expect(bound.terms.map(\.layer) == ["0", "1", "2"])
        #expect(bound.terms.map(\.width) == [32, 8, 8])
        #expect(bound.terms[1].curvature == .infinity)
        #expect(bound.summary.note == "undefined: max-pool at 1 has unbounded curvature at ties")
        // Without it the same chain is finite: 32·2 + 8·3.
        let finite = CurvatureBound.compute(for: Sequential([Softplus(beta: 2), AvgPool2d(kernelSize: 2), Softplus(beta: 3)]),
                                            inputShape: [2, 4, 4])
        #expect(finite.isDefined && finite.value == 32 * 2 + 8 * 3 * 0.5)
    }

    @Test("SmallCNN, default configuration: average pooling and a finite bound in both forms; pooling: .max names the pool",
          arguments: [false, true])
    func smallCNNPooling(_ lcnn: Bool) throws {
        let shape = [1, 8, 8]
        let average = ModelConfig(architecture: .smallcnn, lcnn: lcnn, inputShape: shape)
        #expect(average.pooling == .average)
        let model = try #require(average.makeModel() as? SmallCNN)
        #expect(model.pool is AvgPool2d)
        let bound = CurvatureBound.compute(for: model, inputShape: shape)
        #expect(bound.isDefined && bound.undefinedBy.isEmpty)
        #expect(bound.value.isFinite && bound.value > 0 && bound.logValue.isFinite)
        #expect(bound.terms.map(\.layer) == ["act1", "act2", "act3"])

        var maxConfig = average
        maxConfig.pooling = .max
        let maxModel = try #require(maxConfig.makeModel() as? SmallCNN)
        #expect(maxModel.pool is MaxPool2d)
        let undefined = CurvatureBound.compute(for: maxModel, inputShape: shape)
        #expect(!undefined.isDefined && undefined.undefinedBy == ["pool"])
        #expect(undefined.value == .infinity)
        #expect(undefined.terms.map(\.layer) == ["act1", "act2", "pool", "act3"])
        #expect(undefined.summary.note == "undefined: max-pool at pool has unbounded curvature at ties")
        // Same weights: the pool has no parameters and takes nothing from the seeded generator.
        #expect(model.namedTensors.map(\.name) == maxModel.namedTensors.map(\.name))
        #expect(model.parameters.map(\.scalars) == maxModel.parameters.map(\.scalars))
    }

    @Test("VGG pools follow the configuration (average by default, max on request); the pools enter the bound")
    func vggPooling() {
        let layout = [4, 0, 8, 0]
        for pooling in PoolingKind.allCases {
            let config = ModelConfig(architecture: .vgg11, inputShape: [3, 8, 8], pooling: pooling)
            var factory = LayerFactory(config: config)
            let vgg = VGG(layout: layout, config: config, factory: &factory)
            let pools = vgg.features.layers.filter { $0 is AvgPool2d || $0 is MaxPool2d }
            #expect(pools.count == 2)
            #expect(pools.allSatisfy { pooling == .average ? $0 is AvgPool2d : $0 is MaxPool2d })
            let bound = CurvatureBound.compute(for: vgg, inputShape: [3, 8, 8])
            #expect(bound.isDefined == (pooling == .average))
            if pooling == .max { #expect(bound.undefinedBy == ["features.3", "features.7"]) }
        }
        #expect(ModelConfig(architecture: .vgg11).pooling == .average)
        #expect(ModelConfig(architecture: .vgg11, lcnn: true).pooling == .average)
    }
}
