import Testing
import TensorCore
import TensorKernels

/// The recorded `conv2d` op on a geometry the dispatcher sends to Winograd: its value, first and
/// second derivatives (forward, backward-input and weight-gradient passes, recorded and not)
/// agree whichever algorithm runs them — F(4×4, 3×3), F(2×2, 3×3) or the direct implicit GEMM.
@Suite("conv2d derivatives across the Winograd tiles and the direct path")
struct WinogradAutodiffTests {
    /// Four images of 64 channels at 16×16, 3×3, padding 1: 64 tiles of 4×4, 256 of 2×2.
    static let inputShape = [4, 64, 16, 16], weightShape = [64, 64, 3, 3]

    enum Path: String, CaseIterable, CustomTestStringConvertible {
        case largeTiles, smallTiles, direct
        var testDescription: String { rawValue }
        func apply(_ s: inout KernelSettings) {
            s.winograd = self != .direct
            s.winogradLargeTiles = self == .largeTiles
        }
        var algorithm: Conv2dAlgorithm {
            switch self {
            case .largeTiles: .winogradLargeTiles
            case .smallTiles: .winograd
            case .direct: .implicitGEMM
            }
        }
    }

    /// (y, ∂L/∂x, ∂L/∂w, ∂P/∂x, ∂P/∂w) for L = Σ r·softplus(conv(x, w)) and the input-gradient
    /// penalty P = Σ (∂L/∂x)², differentiated again (double backprop, as GradReg trains).
    static func derivatives(on path: Path) -> [[Float]] {
        KernelSettings.with(path.apply) {
            var rng = SeededGenerator(seed: 17)
            let x = Tensor.uniform(inputShape, low: -1, high: 1, generator: &rng).requiringGrad()
            let w = (Tensor.uniform(weightShape, low: -1, high: 1, generator: &rng) * 0.05).requiringGrad()
            let r = Tensor.uniform([4, 64, 16, 16], low: -1, high: 1, generator: &rng)
            let y = conv2d(x, weight: w, padding: 1)
            let loss = (r * softplus(y, beta: 2)).sum()
            let first = gradients(of: loss, wrt: [x, w], createGraph: true)
            let penalty = (first[0] * first[0]).sum()
            let second = gradients(of: penalty, wrt: [x, w])
            return [y.scalars, first[0].scalars, first[1].scalars, second[0].scalars, second[1].scalars]
        }
    }

    @Test("each path takes the algorithm it names")
    func pathsDispatch() {
        let g = Conv2dGeometry(batch: 4, inChannels: 64, inHeight: 16, inWidth: 16, outChannels: 64, kernelHeight: 3,
                               kernelWidth: 3, paddingHeight: 1, paddingWidth: 1)
        for path in Path.allCases {
            KernelSettings.with(path.apply) {
                #expect(Conv2dDispatch.forwardAlgorithm(for: g) == path.algorithm, "\(path)")
                #expect(Conv2dDispatch.backwardInputAlgorithm(for: g) == path.algorithm, "\(path)")
                #expect(Conv2dDispatch.weightGradAlgorithm(for: g) == path.algorithm, "\(path)")
            }
        }
    }

    @Test("value, gradients and second-order gradients agree with the direct path", arguments: [Path.largeTiles, .smallTiles])
    func agreesWithDirect(_ path: Path) {
        let direct = Self.derivatives(on: .direct), winograd = Self.derivatives(on: path)
        let names = ["y", "∂L/∂x", "∂L/∂w", "∂P/∂x", "∂P/∂w"]
        for (k, name) in names.enumerated() {
            // Max |a − b| over the largest |b|. Measured 1.5e-6–2.5e-6 for F(4×4), 5e-7–9e-7 for
            // F(2×2) on every output; a wrong term in F(4×4)'s gradient transform gave 0.2–0.3.
            let scale = direct[k].map { abs($0) }.max() ?? 0
            let diff = zip(winograd[k], direct[k]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(scale > 0 && diff.isFinite && diff / scale < 2e-5, "\(name) on \(path): \(diff / scale)")
        }
    }
}
