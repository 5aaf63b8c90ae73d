import TensorCore

/// Gradient checks against central differences, for first and second order.
///
/// A tensor-valued function `f(x₁…xₙ)` is made scalar as `φ = Σ f(x) ⊙ W` with a fixed random
/// `W`, so every output element matters. First order compares autodiff's ∇φ with
/// `(φ(x + εeₖ) − φ(x − εeₖ)) / 2ε` for every element k of every input. Second order compares
/// the double-backprop gradient of `ψ = Σᵢ ⟨∇ₓᵢφ, vᵢ⟩` (a Hessian-vector product) with central
/// differences of ψ, where ψ itself is evaluated by first-order autodiff.
///
/// Pass criterion, per input: `max|analytic − numeric| ≤ atol + rtol · max|numeric|`. With the
/// defaults a rule that is off by 10 % fails (see the tests that prove it).
public struct GradCheck {
    public var epsilon: Float = 1e-3
    public var rtol: Float = 1e-2
    public var atol: Float = 1e-3
    public var seed: UInt64 = 7

    public init(epsilon: Float = 1e-3, rtol: Float = 1e-2, atol: Float = 1e-3, seed: UInt64 = 7) {
        (self.epsilon, self.rtol, self.atol, self.seed) = (epsilon, rtol, atol, seed)
    }

    /// The outcome for one input: the largest error and the scale it was judged against.
    public struct Report: CustomStringConvertible, Sendable {
        public let input: Int
        public let maxError: Float
        public let scale: Float
        public let passed: Bool
        public var description: String {
            "input \(input): max |analytic − numeric| = \(maxError), max |numeric| = \(scale), \(passed ? "ok" : "FAILED")"
        }
    }

    /// Checks ∇φ for every input. Inputs are copied; the originals are not modified.
    public func firstOrder(_ inputs: [Tensor], _ f: @escaping ([Tensor]) -> Tensor) -> [Report] {
        let xs = inputs.map { $0.copy().requiringGrad() }
        let weights = outputWeights(f(xs))
        let phi = { (args: [Tensor]) -> Tensor in (f(args) * weights).sum() }
        let analytic = gradients(of: phi(xs), wrt: xs)
        return xs.indices.map { i in
            // Recording stays on: `f` may itself take gradients (double backprop).
            let numeric = centralDifference(xs, input: i) { args in phi(args).item }
            return compare(analytic[i], numeric, input: i)
        }
    }

    /// Checks the Hessian-vector products of φ (double backprop) for every input.
    public func secondOrder(_ inputs: [Tensor], _ f: @escaping ([Tensor]) -> Tensor) -> [Report] {
        let xs = inputs.map { $0.copy().requiringGrad() }
        let weights = outputWeights(f(xs))
        var g = SeededGenerator(seed: seed &+ 101)
        let directions = xs.map { Tensor.normal($0.shape, generator: &g) }
        /// ψ(x) = Σᵢ ⟨∇ₓᵢ φ(x), vᵢ⟩, built with a recorded first gradient.
        func psi(_ args: [Tensor], createGraph: Bool) -> Tensor {
            let phi = (f(args) * weights).sum()
            let grads = gradients(of: phi, wrt: args, createGraph: createGraph)
            return zip(grads, directions).map { ($0 * $1).sum() }.reduce(Tensor(0), +)
        }
        let value = psi(xs, createGraph: true)
        let analytic = value.requiresGrad ? gradients(of: value, wrt: xs) : xs.map { $0.zerosLike() }
        return xs.indices.map { i in
            let numeric = centralDifference(xs, input: i) { args in
                let fresh = args.map { $0.detached().requiringGrad() }
                return psi(fresh, createGraph: false).item
            }
            return compare(analytic[i], numeric, input: i)
        }
    }

    /// Whether every report passed.
    public static func allPassed(_ reports: [Report]) -> Bool { reports.allSatisfy(\.passed) }

    private func outputWeights(_ y: Tensor) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.normal(y.shape, generator: &g)
    }

    private func centralDifference(_ xs: [Tensor], input i: Int, _ value: ([Tensor]) -> Float) -> Tensor {
        let x = xs[i]
        let result = Tensor.zeros(x.shape)
        for k in 0..<x.count {
            func shifted(_ delta: Float) -> Float {
                let moved = x.copy()
                moved.withUnsafeMutableBufferPointer { $0[k] += delta }
                var args = xs
                args[i] = moved.requiringGrad()
                return value(args)
            }
            let d = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon)
            result.withUnsafeMutableBufferPointer { $0[k] = d }
        }
        return result
    }

    private func compare(_ analytic: Tensor, _ numeric: Tensor, input: Int) -> Report {
        let a = analytic.scalars, n = numeric.scalars
        var maxError: Float = 0, scale: Float = 0
        for k in a.indices {
            maxError = max(maxError, Swift.abs(a[k] - n[k]))
            scale = max(scale, Swift.abs(n[k]))
        }
        if a.contains(where: { !$0.isFinite }) { maxError = .infinity }
        return Report(input: input, maxError: maxError, scale: scale, passed: maxError <= atol + rtol * scale)
    }
}
