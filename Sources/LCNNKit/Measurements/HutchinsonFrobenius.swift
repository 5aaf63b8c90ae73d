import TensorCore

/// SPEC G4: Hutchinson's Monte-Carlo estimate of the squared Frobenius norm of every sample's
/// input Hessian, `‖H‖_F² = tr(HᵀH) = E_z ‖H z‖²` for `z` with `E[z zᵀ] = I` (Rademacher ±1
/// entries, or standard Gaussian), averaged over `samples` probes: `(1/S) Σₛ ‖H zₛ‖²`.
/// Each probe costs one Hessian-vector product of the batch.
public struct HutchinsonFrobenius: Sendable, Codable, Equatable {
    /// Distribution of the probe vectors.
    public enum Probe: String, Sendable, Codable, CaseIterable {
        case rademacher, gaussian
    }

    public var samples: Int
    public var probe: Probe
    public var seed: UInt64

    public init(samples: Int = 10, probe: Probe = .rademacher, seed: UInt64 = 1) {
        precondition(samples >= 1, "HutchinsonFrobenius: samples must be ≥ 1")
        self.samples = samples
        self.probe = probe
        self.seed = seed
    }

    /// Per-sample estimates for one batch.
    public struct Result: Sendable {
        /// `(1/S) Σₛ ‖H zₛ‖²` per sample.
        public var squaredFrobeniusNorm: [Float]
        /// Its square root.
        public var frobeniusNorm: [Float] { squaredFrobeniusNorm.map { Swift.max(0, $0).squareRoot() } }
    }

    public func run(_ hessian: InputHessian) -> Result {
        var generator = SeededGenerator(seed: seed)
        let shape = hessian.input.shape
        var total = [Double](repeating: 0, count: hessian.batchSize)
        for _ in 0..<samples {
            let z: Tensor
            switch probe {
            case .gaussian: z = Tensor.normal(shape, generator: &generator)
            case .rademacher:
                z = Tensor((0..<Shape.count(shape)).map { _ in generator.next() >> 63 == 0 ? 1 : -1 }, shape: shape)
            }
            for (i, v) in PerSample.squaredNorm(hessian.hvp(z)).enumerated() { total[i] += Double(v) }
        }
        return Result(squaredFrobeniusNorm: total.map { Float($0 / Double(samples)) })
    }
}
