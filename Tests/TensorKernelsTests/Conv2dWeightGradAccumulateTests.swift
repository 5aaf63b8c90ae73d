import Testing
@testable import TensorKernels

/// `conv2dBackwardWeight(…, beta:)`: gradWeight ← dW + beta·gradWeight on every algorithm of the
/// weight-gradient table — natively in the implicit GEMM's tile stores (with R or K split over
/// the threads), through a scratch pass elsewhere — against the float64 reference.
@Suite("conv2d weight gradient accumulated with beta")
struct Conv2dWeightGradAccumulateTests {
    private static func square(_ n: Int, _ c: Int, _ h: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int) -> Conv2dGeometry {
        Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: h, outChannels: o, kernelHeight: k,
                       kernelWidth: k, strideHeight: s, strideWidth: s, paddingHeight: p, paddingWidth: p)
    }

    /// (geometry, the algorithm the table picks for it): the LCNN power iteration's single images
    /// (4×4 and 8×8 maps, R split), a strided one, a batch with few taps and many pixels (K split),
    /// a 1-channel layer (columns) and images on both Winograd tiles.
    static let cases: [(Conv2dGeometry, Conv2dAlgorithm)] = [
        (square(1, 40, 4, 36, 3, 1, 1), .implicitGEMM),
        (square(1, 24, 8, 20, 3, 1, 1), .implicitGEMM),
        (square(1, 20, 9, 28, 3, 2, 1), .implicitGEMM),
        (square(8, 2, 12, 40, 3, 1, 1), .implicitGEMM),
        (square(4, 1, 10, 16, 3, 1, 0), .columns),
        (square(2, 64, 16, 64, 3, 1, 1), .winograd),
        (square(1, 64, 32, 64, 3, 1, 1), .winogradLargeTiles),
    ]

    @Test(arguments: cases, [Float(0.5), -1.25, 1])
    func matchesReference(_ c: (Conv2dGeometry, Conv2dAlgorithm), beta: Float) {
        let (g, algorithm) = c
        #expect(Conv2dDispatch.weightGradAlgorithm(for: g) == algorithm, "\(g) dispatches elsewhere")
        var rng = TestRNG(geometrySeed(g))
        let x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth)
        let dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth)
        let before = rng.array(g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth)
        let reference = zip(referenceConvBackwardWeight(g, x, dy), before).map { $0 + Double(beta) * Double($1) }
        for threads in [1, 2] {
            KernelSettings.with({ $0.threads = threads; $0.gemmParallelFlops = 1 }) {
                var dw = before
                conv2dBackwardWeight(g, input: x, gradOutput: dy, gradWeight: &dw, beta: beta)
                let err = relativeError(dw, reference)
                #expect(err < 1e-5, "\(algorithm), \(threads) threads, beta \(beta): error \(err) for \(g)")
            }
        }
    }

    @Test func noPixelsScalesByBeta() {
        let g = Conv2dGeometry(batch: 2, inChannels: 2, inHeight: 2, inWidth: 2, outChannels: 3, kernelHeight: 3,
                               kernelWidth: 3)
        var dw = [Float](repeating: 2, count: 3 * 2 * 9)
        conv2dBackwardWeight(g, input: [Float](repeating: 1, count: 16), gradOutput: [], gradWeight: &dw, beta: 0.25)
        #expect(dw.allSatisfy { $0 == 0.5 })
    }
}
