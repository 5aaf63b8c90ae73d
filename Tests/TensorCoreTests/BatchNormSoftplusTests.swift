import Testing
import TensorCore
import TensorKernels
import _TestSupport

/// `batchNormSoftplus` (training-mode batch norm fused with the softplus after it) against the
/// two operations one after the other, for both batch-norm forms (per-channel weight and bias;
/// the γ-Lipschitz scalar gain from log γ) and both softplus forms (constant β; centered with
/// learnable log β), and its rule by gradient checks at first and second order.
@Suite("Batch norm + softplus fusion")
struct BatchNormSoftplusTests {
    enum Norm: String, CaseIterable, Sendable { case affine, lipschitz }
    enum Activation: String, CaseIterable, Sendable { case softplus, sharpSoftplus, centered }

    /// One layer pair's inputs and learnable parameters (x first, then the parameters that get gradients).
    struct Pair {
        let norm: Norm, activation: Activation
        let x: Tensor, params: [Tensor], upstream: Tensor
        let runningMean: Tensor, runningVar: Tensor

        init(_ norm: Norm, _ activation: Activation, shape: [Int], seed: UInt64 = 0) {
            (self.norm, self.activation) = (norm, activation)
            let channels = shape[1]
            x = Fixtures.normal(shape, seed: 11 &+ seed, std: 1.5).requiringGrad()
            upstream = Fixtures.normal(shape, seed: 12 &+ seed)
            runningMean = Fixtures.normal([channels], seed: 13 &+ seed, std: 0.2)
            runningVar = Fixtures.uniform([channels], seed: 14 &+ seed, low: 0.5, high: 2)
            var p: [Tensor]
            switch norm {
            case .affine:
                p = [Fixtures.normal([channels], seed: 15 &+ seed, std: 0.5) + 1, Fixtures.normal([channels], seed: 16 &+ seed, std: 0.3)]
            case .lipschitz:
                p = [Tensor(Float(-0.3))]   // log γ with γ < 1/s, so the gain depends on it
            }
            if activation == .centered { p.append(Tensor(Float(1.2))) }   // log β
            params = p.map { $0.requiringGrad() }
        }

        /// Weight, bias and β as the layers form them from the parameters (recorded).
        func arguments(_ p: [Tensor]) -> (weight: Tensor, bias: Tensor?, beta: Tensor) {
            let channels = x.shape[1]
            let (weight, bias): (Tensor, Tensor?)
            switch norm {
            case .affine: (weight, bias) = (p[0], p[1])
            case .lipschitz:
                let s: Float = 0.8
                (weight, bias) = ((minimum(exp(p[0]), Tensor(1 / s)) * s).expanded(to: [channels]), nil)
            }
            let beta: Tensor
            switch activation {
            case .softplus: beta = Tensor(Float(2))
            case .sharpSoftplus: beta = Tensor(Float(1000))
            case .centered: beta = exp(p[p.count - 1])
            }
            return (weight, bias, beta)
        }

        /// The pair's output on fresh copies of the running statistics (returned updated).
        func forward(_ x: Tensor, _ p: [Tensor], fused: Bool) -> (z: Tensor, mean: Tensor, variance: Tensor) {
            let (mean, variance) = (runningMean.copy(), runningVar.copy())
            let (weight, bias, beta) = arguments(p)
            let centered = activation == .centered
            // Small maps, fused: the kernels are the same at every size.
            let z = fused
                ? BatchNormSoftplusTests.fusingSmallMaps { batchNormSoftplus(x, runningMean: mean, runningVar: variance, weight: weight, bias: bias, beta: beta,
                                    centered: centered, training: true) }
                : softplus(batchNorm(x, runningMean: mean, runningVar: variance, weight: weight, bias: bias, training: true),
                           beta: beta, centered: centered)
            return (z, mean, variance)
        }

        /// ∂⟨z, upstream⟩ with respect to `targets` (indices into [x] + params).
        func gradients(fused: Bool, targets: [Int], createGraph: Bool = false) -> [Tensor] {
            let all = [x] + params
            let z = forward(x, params, fused: fused).z
            return TensorCore.gradients(of: (z * upstream).sum(), wrt: targets.map { all[$0] }, createGraph: createGraph)
        }
    }

    /// `body` with `batchNormSoftplus` fused on maps of any size from 16 pixels up.
    static func fusingSmallMaps<R>(_ body: () -> R) -> R {
        KernelSettings.with({ $0.fuseBatchNormSoftplusMinPixels = 16 }, body)
    }

    static let shapes: [[Int]] = [[4, 3, 5, 5], [2, 3, 4, 4], [3, 2, 6, 7]]

    @Test("the fused op gives the composition's output and running statistics, bit for bit",
          arguments: Norm.allCases, Activation.allCases)
    func forwardMatches(_ norm: Norm, _ activation: Activation) {
        for shape in Self.shapes {
            let pair = Pair(norm, activation, shape: shape)
            let fused = pair.forward(pair.x, pair.params, fused: true)
            let unfused = pair.forward(pair.x, pair.params, fused: false)
            #expect(fused.z.node?.op == .primitive(.batchNormSoftplus), "\(shape): the fused op was not recorded")
            #expect(fused.z.scalars == unfused.z.scalars, "\(shape): output")
            #expect(fused.mean.scalars == unfused.mean.scalars && fused.variance.scalars == unfused.variance.scalars,
                    "\(shape): running statistics")
        }
    }

    /// Every subset of gradients the rule may be asked for: all, x alone, the parameters alone.
    @Test("the fused rule gives the composition's gradients of x, weight, bias or log γ, and β or log β",
          arguments: Norm.allCases, Activation.allCases)
    func gradientsMatch(_ norm: Norm, _ activation: Activation) {
        for shape in Self.shapes {
            let pair = Pair(norm, activation, shape: shape, seed: UInt64(shape[3]))
            let count = 1 + pair.params.count
            for targets in [Array(0..<count), [0], Array(1..<count)] {
                let fused = pair.gradients(fused: true, targets: targets)
                let unfused = pair.gradients(fused: false, targets: targets)
                for (k, (a, b)) in zip(fused, unfused).enumerated() {
                    expectClose(a, b.scalars, rtol: 1e-5, atol: 1e-6, "\(shape) input \(targets[k])")
                }
            }
        }
    }

    @Test("the recorded rule (double backprop) gives the fused rule's first-order gradients",
          arguments: Norm.allCases, Activation.allCases)
    func recordedRuleMatchesFused(_ norm: Norm, _ activation: Activation) {
        let pair = Pair(norm, activation, shape: [4, 3, 5, 5], seed: 3)
        let targets = Array(0...pair.params.count)
        let fused = pair.gradients(fused: true, targets: targets)
        let recorded = pair.gradients(fused: true, targets: targets, createGraph: true)
        for (k, (a, b)) in zip(recorded, fused).enumerated() {
            expectClose(a, b.scalars, rtol: 1e-5, atol: 1e-6, "input \(k)")
        }
    }

    /// Gradient checks of the fused op at first order (the fused kernel) and second order (the
    /// recorded rule, differentiated again), with x's rows 20 long (one vector and a tail).
    @Test("the fused op passes first- and second-order gradient checks", arguments: Norm.allCases, Activation.allCases)
    func gradCheck(_ norm: Norm, _ activation: Activation) {
        guard activation != .sharpSoftplus else { return }   // β = 1000: too sharp for central differences
        let pair = Pair(norm, activation, shape: [2, 2, 4, 5], seed: 5)
        expectGradCheck([pair.x] + pair.params, "\(norm) + \(activation)") { args in
            pair.forward(args[0], Array(args.dropFirst()), fused: true).z
        }
    }

    /// With a learnable β on the plain softplus too (the rule's ∂β for centered = false).
    @Test("the fused op's ∂β for a learnable β on the plain softplus")
    func learnableBetaOnPlainSoftplus() {
        let x = Fixtures.normal([2, 2, 4, 5], seed: 41), w = Fixtures.normal([2], seed: 42), b = Fixtures.normal([2], seed: 43)
        expectGradCheck([x, w, b, Tensor(Float(1.5))]) { a in
            Self.fusingSmallMaps { batchNormSoftplus(a[0], runningMean: .zeros([2]), runningVar: .ones([2]), weight: a[1], bias: a[2], beta: a[3],
                              training: true) }
        }
    }

    @Test("evaluation, [N, C] inputs, rows under 16 values and the switched-off setting run the composition")
    func fallbacks() {
        func op(_ x: Tensor, training: Bool) -> Tensor {
            let c = x.shape[1]
            return Self.fusingSmallMaps {
                batchNormSoftplus(x.requiringGrad(), runningMean: .zeros([c]), runningVar: .ones([c]),
                                  weight: Tensor.ones([c]).requiringGrad(), beta: Tensor(Float(2)), centered: true,
                                  training: training)
            }
        }
        let image = Fixtures.normal([2, 3, 4, 4], seed: 51)
        #expect(op(image, training: true).node?.op == .primitive(.batchNormSoftplus))
        #expect(op(image, training: false).node?.op == .primitive(.centeredSoftplus))
        #expect(op(Fixtures.normal([6, 3], seed: 52), training: true).node?.op == .primitive(.centeredSoftplus))
        #expect(op(Fixtures.normal([2, 3, 3, 5], seed: 53), training: true).node?.op == .primitive(.centeredSoftplus))
        KernelSettings.with({ $0.fuseBatchNormSoftplus = false }) {
            #expect(op(image, training: true).node?.op == .primitive(.centeredSoftplus))
        }
    }

    @Test("by default, maps of 64 pixels or more fuse and smaller ones run the composition")
    func mapSizeBound() {
        func fusedOp(_ shape: [Int]) -> Op? {
            let c = shape[1]
            let z = batchNormSoftplus(Fixtures.normal(shape, seed: 55).requiringGrad(), runningMean: .zeros([c]),
                                      runningVar: .ones([c]), beta: Tensor(Float(2)), training: true)
            guard case .primitive(let op) = z.node?.op else { return nil }
            return op
        }
        #expect(KernelSettings().fuseBatchNormSoftplusMinPixels == 64)
        #expect(fusedOp([2, 3, 8, 8]) == .batchNormSoftplus)
        #expect(fusedOp([2, 3, 4, 16]) == .batchNormSoftplus)
        #expect(fusedOp([2, 3, 7, 9]) == .softplus)
        #expect(fusedOp([2, 3, 4, 4]) == .softplus)
        KernelSettings.with({ $0.fuseBatchNormSoftplusMinPixels = 8 }) {   // below one vector: still 16
            #expect(fusedOp([2, 3, 3, 5]) == .softplus)
            #expect(fusedOp([2, 3, 4, 4]) == .batchNormSoftplus)
        }
    }
}
