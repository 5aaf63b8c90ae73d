import TensorCore

/// Auto-PGD (Croce & Hein, ICML 2020, §3, Algorithm 1): PGD with momentum and a step size that
/// halves on its own, in ℓ2 or ℓ∞, on inputs in [0, 1].
///
/// With N iterations, step size η⁽⁰⁾ = 2ε and momentum α = 0.75:
///
///     z⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + η⁽ᵏ⁾·s(∇f(x⁽ᵏ⁾)))                        s = sign (ℓ∞) or g/‖g‖₂ (ℓ2)
///     x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α·(z⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾) + (1 − α)·(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾))   (α = 1 at the first step)
///
/// P projects onto the ε-ball around x and then clips to the input range (which keeps the
/// iterate in the ball, as x lies in the range). At the checkpoints w_j = ⌈p_j·N⌉, with
/// p₀ = 0, p₁ = 0.22 and p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), a sample's step size
/// halves — and it restarts from its best point — when, since the previous checkpoint,
///   1. its loss rose in at most ρ = 75 % of the steps, or
///   2. its step size was not halved at the previous checkpoint and its best loss did not improve.
/// Each restart starts from a random point on the ε-sphere (clipped); a sample counts as robust
/// when no iterate of any restart was misclassified. f is the cross-entropy (APGD-CE) or the
/// targeted DLR loss (APGD-T, one run per target class, the k-th most likely for k = 2, 3, …).
///
/// The loss before the first step, in the oscillation count of the first checkpoint, is the loss
/// at the starting point (the reference code compares with an unset 0 there).
public struct APGD: Sendable {
    public var norm: PGD.Norm
    public var epsilon: Float
    /// Iterations N per restart (AutoAttack: 100).
    public var iterations: Int
    /// Random restarts (AutoAttack's standard version: 1 for APGD-CE).
    public var restarts: Int
    /// Momentum α.
    public var momentum: Float = 0.75
    /// ρ: the fraction of steps that must increase the loss between checkpoints.
    public var oscillationThreshold: Float = 0.75
    /// The valid input range (nil: unbounded, e.g. two-moons coordinates).
    public var inputRange: ClosedRange<Float>?

    public init(norm: PGD.Norm = .l2, epsilon: Float, iterations: Int = 100, restarts: Int = 1,
                inputRange: ClosedRange<Float>? = 0...1) {
        precondition(epsilon >= 0 && iterations >= 1 && restarts >= 1, "APGD: ε ≥ 0, iterations and restarts ≥ 1")
        self.norm = norm
        self.epsilon = epsilon
        self.iterations = iterations
        self.restarts = restarts
        self.inputRange = inputRange
    }

    /// The outcome on a batch.
    public struct Result {
        /// A misclassified iterate where one was found, else the highest-loss iterate.
        public var adversarial: Tensor
        /// Per sample: correctly classified at every iterate (and at x itself).
        public var robust: [Bool]
        /// Gradient evaluations per sample spent (1 + N per restart and target).
        public var gradientEvaluations: Int
    }

    /// The checkpoints w₁ < w₂ < … < N (iteration indices after which the step size is checked).
    public static func checkpoints(iterations n: Int) -> [Int] {
        var points: [Int] = []
        var k = Swift.max(Int(0.22 * Double(n)), 1)
        let decrement = Swift.max(Int(0.03 * Double(n)), 1), minimum = Swift.max(Int(0.06 * Double(n)), 1)
        var at = k
        while at <= n {
            points.append(at)
            k = Swift.max(k - decrement, minimum)
            at += k
        }
        return points
    }

    /// APGD-CE on a batch: `restarts` runs of the cross-entropy, each on the samples still robust.
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int], generator: inout SeededGenerator) -> Result {
        var result = Result(adversarial: x, robust: cleanCorrect(classifier, x, labels), gradientEvaluations: 0)
        for _ in 0..<restarts { run(.crossEntropy, classifier, x, labels: labels, into: &result, generator: &generator) }
        return result
    }

    /// APGD-T on a batch: for k = 2 … targetClasses + 1, the targeted DLR loss towards each
    /// sample's k-th most likely class (at x), `restarts` runs each, on the samples still robust.
    public func targetedAttack(_ classifier: Classifier, _ x: Tensor, labels: [Int], targetClasses: Int = 9,
                               generator: inout SeededGenerator) -> Result {
        let logits = withoutGrad { classifier(x) }
        let classes = logits.shape[1]
        precondition(classes >= 4, "APGD-T: the targeted DLR loss needs at least 4 classes, the model has \(classes)")
        let order = AttackLoss.descendingOrder(logits)
        var result = Result(adversarial: x, robust: cleanCorrect(classifier, x, labels), gradientEvaluations: 0)
        for k in 1...Swift.min(targetClasses, classes - 1) {
            let targets = order.map { $0[k] }
            for _ in 0..<restarts {
                run(.targetedDLR(targets: targets), classifier, x, labels: labels, into: &result, generator: &generator)
            }
        }
        return result
    }

    func cleanCorrect(_ classifier: Classifier, _ x: Tensor, _ labels: [Int]) -> [Bool] {
        zip(withoutGrad { classifier(x) }.argmax(axis: -1), labels).map { $0 == $1 }
    }

    /// One run of Algorithm 1 with `loss` on the samples of `result` still robust; those it
    /// breaks get their misclassified iterate in `result.adversarial`.
    func run(_ loss: AttackLoss, _ classifier: Classifier, _ x: Tensor, labels: [Int], into result: inout Result,
             generator: inout SeededGenerator) {
        let active = result.robust.indices.filter { result.robust[$0] }
        result.gradientEvaluations += iterations + 1
        guard !active.isEmpty, epsilon > 0 else { return }
        let xs = x.samples(active), ys = active.map { labels[$0] }
        let lossOnActive: AttackLoss
        if case .targetedDLR(let targets) = loss { lossOnActive = .targetedDLR(targets: active.map { targets[$0] }) } else { lossOnActive = loss }
        let (found, broken) = optimise(lossOnActive, classifier, xs, labels: ys, generator: &generator)
        let newlyBroken = broken.indices.filter { broken[$0] }
        guard !newlyBroken.isEmpty else { return }
        result.adversarial = result.adversarial.replacingSamples(at: newlyBroken.map { active[$0] }, with: found.samples(newlyBroken))
        for i in newlyBroken { result.robust[active[i]] = false }
    }

    /// Algorithm 1 on one batch: the best adversarial point per sample (misclassified where found,
    /// else highest loss) and which samples were misclassified at some iterate.
    func optimise(_ loss: AttackLoss, _ classifier: Classifier, _ x: Tensor, labels: [Int],
                  generator: inout SeededGenerator) -> (adversarial: Tensor, broken: [Bool]) {
        let batch = labels.count
        var current = project(x + randomStart(x.shape, generator: &generator), around: x)
        var evaluation = lossAndInputGradient(of: classifier, at: current, labels: labels, loss: loss)
        var gradient = evaluation.gradient
        var broken = zip(evaluation.logits.argmax(axis: -1), labels).map { $0 != $1 }
        var adversarial = current                       // a misclassified iterate where found
        var best = current, bestGradient = gradient, bestLoss = evaluation.losses
        var stepSize = [Float](repeating: 2 * epsilon, count: batch)
        var previous = current
        var history: [[Float]] = [evaluation.losses]   // losses at the start and after each step
        let checkpoints = Set(APGD.checkpoints(iterations: iterations))
        var lastCheckpoint = 0
        var bestAtLastCheckpoint = bestLoss
        var halvedAtLastCheckpoint = [Bool](repeating: true, count: batch)
        for step in 1...iterations {
            let next = withoutGrad { () -> Tensor in
                let direction = norm == .linf ? sign(gradient) : gradient.perSampleNormalized()
                let z = project(current + direction.scaledPerSample(stepSize), around: x)
                let a = step == 1 ? 1 : momentum
                return project(current + (z - current) * a + (current - previous) * (1 - a), around: x)
            }
            previous = current
            current = next
            evaluation = lossAndInputGradient(of: classifier, at: current, labels: labels, loss: loss)
            gradient = evaluation.gradient
            let wrong = zip(evaluation.logits.argmax(axis: -1), labels).map { $0 != $1 }
            adversarial = adversarial.replacingSamples(where: wrong.indices.map { wrong[$0] && !broken[$0] }, with: current)
            for i in 0..<batch where wrong[i] { broken[i] = true }
            let improved = (0..<batch).map { evaluation.losses[$0] > bestLoss[$0] }
            best = best.replacingSamples(where: improved, with: current)
            bestGradient = bestGradient.replacingSamples(where: improved, with: gradient)
            for i in 0..<batch where improved[i] { bestLoss[i] = evaluation.losses[i] }
            history.append(evaluation.losses)

            guard checkpoints.contains(step) else { continue }
            let span = step - lastCheckpoint
            var halve = [Bool](repeating: false, count: batch)
            for i in 0..<batch {
                var increases = 0
                for s in (step - span + 1)...step where history[s][i] > history[s - 1][i] { increases += 1 }
                let oscillating = Float(increases) <= oscillationThreshold * Float(span)
                let stalled = !halvedAtLastCheckpoint[i] && bestAtLastCheckpoint[i] >= bestLoss[i]
                halve[i] = oscillating || stalled
                if halve[i] { stepSize[i] /= 2 }
            }
            halvedAtLastCheckpoint = halve
            bestAtLastCheckpoint = bestLoss
            lastCheckpoint = step
            // Halved samples continue from their best point with its gradient; the momentum term
            // of the next step is then best − (the iterate before the last step), as in the reference.
            current = current.replacingSamples(where: halve, with: best)
            gradient = gradient.replacingSamples(where: halve, with: bestGradient)
        }
        return (adversarial.replacingSamples(where: broken.map { !$0 }, with: best), broken)
    }

    /// A random point on the ε-sphere of the norm: ε·t/‖t‖∞ with t uniform in [−1, 1] (ℓ∞), or
    /// ε·n/‖n‖₂ with n standard normal (ℓ2).
    func randomStart(_ shape: [Int], generator: inout SeededGenerator) -> Tensor {
        withoutGrad {
            switch norm {
            case .linf:
                let t = Tensor.uniform(shape, low: -1, high: 1, generator: &generator)
                let maxima = abs(t).maxValues(axes: Array(1..<shape.count), keepDims: true)
                return t / maximum(maxima, 1e-12) * epsilon
            case .l2:
                return Tensor.normal(shape, generator: &generator).perSampleNormalized() * epsilon
            }
        }
    }

    /// Projection onto the ε-ball around x, then clipping to the input range.
    func project(_ candidate: Tensor, around x: Tensor) -> Tensor {
        withoutGrad {
            let delta = candidate - x
            let inBall = norm == .linf ? clamp(delta, min: -epsilon, max: epsilon) : delta.perSampleClippedNorm(epsilon)
            guard let r = inputRange else { return x + inBall }
            return clamp(x + inBall, min: r.lowerBound, max: r.upperBound)
        }
    }
}
