import TensorCore

/// DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016), ℓ2, multi-class: an estimate of the
/// minimal perturbation that changes a sample's predicted label (SPEC A4).
///
/// With k₀ the label predicted at the clean input x₀ and fₖ the logits, each step linearises the
/// classifier at the current point xᵢ: for every other class k,
///
///     wₖ = ∇fₖ(xᵢ) − ∇f_k₀(xᵢ),   f′ₖ = fₖ(xᵢ) − f_k₀(xᵢ),
///
/// the nearest linearised boundary is l = argminₖ |f′ₖ| / ‖wₖ‖₂, and the step onto it is
///
///     rᵢ = (|f′ₗ| + 10⁻⁴) / ‖wₗ‖₂² · wₗ.
///
/// The steps accumulate, r = Σ rᵢ, and the next point is x_{i+1} = clip(x₀ + (1 + η)·r) with the
/// overshoot η (0.02). A sample stops as soon as its label differs from k₀, or after `maxSteps`
/// steps (50). Clipping to the input range happens at every step and the iteration continues
/// from the clipped point ("clip and continue"), so the returned examples are valid inputs.
///
/// For an affine binary classifier f(x) = wᵀx + b one step is exact: ‖δ‖ = (1 + η)(|f| + 10⁻⁴)/‖w‖,
/// the distance to the decision boundary times 1 + η.
///
/// Samples are processed as one batch; samples that have already changed label drop out of the
/// batch. Each step costs one forward pass and one backward pass per class (the gradients of
/// fₖ − f_k₀ for every sample at once, which is exact because samples do not interact in
/// evaluation mode). Like PGD, the classifier should run the model in evaluation mode.
public struct DeepFool: Sendable {
    /// η: the accumulated perturbation is scaled by 1 + η so the point crosses the boundary.
    public var overshoot: Float
    public var maxSteps: Int
    /// The valid input range the iterates are clipped to; nil for unbounded inputs.
    public var inputRange: ClosedRange<Float>?

    public init(overshoot: Float = 0.02, maxSteps: Int = 50, inputRange: ClosedRange<Float>? = 0...1) {
        precondition(overshoot >= 0 && maxSteps >= 0, "DeepFool: overshoot and maxSteps must be non-negative")
        self.overshoot = overshoot
        self.maxSteps = maxSteps
        self.inputRange = inputRange
    }

    /// What DeepFool found for a batch.
    public struct Result: Sendable {
        /// The final iterates, `[N, …]`, inside the input range.
        public let adversarial: Tensor
        /// ‖x_adv − x‖₂ per sample (the minimal-perturbation estimate where `succeeded`).
        public let perturbationNorms: [Float]
        /// Whether the predicted label at `adversarial` differs from the clean prediction.
        public let succeeded: [Bool]
        /// The labels predicted at the clean inputs (k₀).
        public let originalLabels: [Int]
        /// The labels predicted at `adversarial`.
        public let adversarialLabels: [Int]
        /// Linearisation steps taken per sample.
        public let steps: [Int]

        /// The norms of the successful samples only.
        public var successfulNorms: [Float] { zip(perturbationNorms, succeeded).filter(\.1).map(\.0) }

        /// Mean ‖δ‖₂ over the successful samples (nil when none succeeded).
        public var meanPerturbationNorm: Float? {
            let s = successfulNorms
            return s.isEmpty ? nil : s.reduce(0, +) / Float(s.count)
        }
    }

    /// Runs DeepFool on every sample of `x` (`[N, …]`) against the labels the classifier predicts.
    public func attack(_ classifier: Classifier, _ x: Tensor) -> Result {
        let n = x.shape[0]
        let sampleShape = Array(x.shape.dropFirst())
        let d = n == 0 ? 0 : x.count / n
        let x0 = x.scalars
        var current = x0
        var total = [Float](repeating: 0, count: n * d)
        var original = [Int](repeating: 0, count: n)
        var steps = [Int](repeating: 0, count: n)
        var active = Array(0..<n)

        func clip(_ v: Float) -> Float {
            guard let r = inputRange else { return v }
            return Swift.min(Swift.max(v, r.lowerBound), r.upperBound)
        }

        var iteration = 0
        while !active.isEmpty {
            let m = active.count
            var rows = [Float](); rows.reserveCapacity(m * d)
            for i in active { rows.append(contentsOf: current[(i * d)..<((i + 1) * d)]) }
            let xa = Tensor(rows, shape: [m] + sampleShape).requiringGrad()
            let logits = withGrad { classifier(xa) }
            let classes = logits.shape[1]
            let values = logits.scalars
            let predicted = logits.argmax(axis: -1)
            if iteration == 0 { original = predicted }
            // Samples whose label changed are done; the rest take one more step (if allowed).
            var still: [Int] = []   // positions in `active`
            for (p, i) in active.enumerated() where predicted[p] == original[i] { still.append(p) }
            if still.isEmpty || iteration >= maxSteps { break }

            // w_k and f′_k for every still-active sample and every class k.
            var best = [Float](repeating: .infinity, count: m)
            var bestStep = [[Float]](repeating: [], count: m)
            for k in 0..<classes {
                var seed = [Float](repeating: 0, count: m * classes)
                var any = false
                for p in still where original[active[p]] != k {
                    seed[p * classes + k] = 1
                    seed[p * classes + original[active[p]]] = -1
                    any = true
                }
                guard any else { continue }
                let w = gradients(of: logits, wrt: [xa], seed: Tensor(seed, shape: [m, classes]))[0].scalars
                for p in still where original[active[p]] != k {
                    let k0 = original[active[p]]
                    let f = values[p * classes + k] - values[p * classes + k0]
                    var sq: Float = 0
                    for j in 0..<d { sq += w[p * d + j] * w[p * d + j] }
                    guard sq > 0 else { continue }
                    let distance = Swift.abs(f) / sq.squareRoot()
                    if distance < best[p] {
                        best[p] = distance
                        let scale = (Swift.abs(f) + 1e-4) / sq
                        bestStep[p] = (0..<d).map { w[p * d + $0] * scale }
                    }
                }
            }
            var next: [Int] = []
            for p in still {
                let i = active[p]
                guard !bestStep[p].isEmpty else { continue }   // flat logits: nothing to follow
                for j in 0..<d {
                    total[i * d + j] += bestStep[p][j]
                    current[i * d + j] = clip(x0[i * d + j] + (1 + overshoot) * total[i * d + j])
                }
                steps[i] += 1
                next.append(i)
            }
            active = next
            iteration += 1
        }

        let adversarial = Tensor(current, shape: x.shape)
        let finalLabels = n == 0 ? [] : withoutGrad { classifier(adversarial) }.argmax(axis: -1)
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var sq: Float = 0
            for j in 0..<d { let t = current[i * d + j] - x0[i * d + j]; sq += t * t }
            norms[i] = sq.squareRoot()
        }
        return Result(adversarial: adversarial, perturbationNorms: norms,
                      succeeded: (0..<n).map { finalLabels[$0] != original[$0] },
                      originalLabels: original, adversarialLabels: finalLabels, steps: steps)
    }
}
