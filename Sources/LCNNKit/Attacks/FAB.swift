import TensorCore

/// FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein, ICML 2020, "Minimally
/// distorted adversarial examples with a fast adaptive boundary attack", §2–3), AutoAttack's
/// third attack: a minimal-perturbation attack that walks along linearised decision boundaries
/// instead of ascending a loss, so it does not depend on a loss's gradient scale.
///
/// For a target class t, at the current point x⁽ⁱ⁾ the boundary between the label y and t is
/// linearised, π = {z : g(x⁽ⁱ⁾) + ∇g(x⁽ⁱ⁾)ᵀ(z − x⁽ⁱ⁾) = 0} with g = f_t − f_y, and both x⁽ⁱ⁾ and
/// the original x are projected onto π ∩ [0, 1]ᵈ in the attack's norm (``minimalStep``):
/// δ⁽ⁱ⁾ and δ_orig. The next point is the biased step
///
///     x⁽ⁱ⁺¹⁾ = clip((1 − α)·(x⁽ⁱ⁾ + η·δ⁽ⁱ⁾) + α·(x + η·δ_orig)),
///     α = min(‖δ⁽ⁱ⁾‖ / (‖δ⁽ⁱ⁾‖ + ‖δ_orig‖), α_max),
///
/// with overshoot η = 1.05 and α_max = 0.1. Whenever x⁽ⁱ⁺¹⁾ is misclassified it is kept if it is
/// the closest found so far, and the walk steps back towards x: x⁽ⁱ⁺¹⁾ ← x + β·(x⁽ⁱ⁺¹⁾ − x),
/// β = 0.9. The first restart starts at x; later ones at x plus a random perturbation of half the
/// smaller of ε and the best norm found. Each target (the 2nd, 3rd, … most likely class at x)
/// runs on the samples not yet broken, and a sample counts as broken at ε when its closest
/// misclassified point lies within ε — AutoAttack's reading of a minimal-perturbation attack.
///
/// Per iteration: one input gradient of g (one forward and one backward pass) and one forward
/// pass to classify the new point.
public struct FAB: Sendable {
    public var norm: PGD.Norm
    /// The radius at which a sample counts as broken.
    public var epsilon: Float
    /// Iterations per restart and target (AutoAttack: 100).
    public var iterations: Int
    /// Restarts per target (AutoAttack's standard version: 1).
    public var restarts: Int
    /// η: the step overshoots the linearised boundary by this factor.
    public var overshoot: Float = 1.05
    /// α_max: the largest weight of the step from the original point.
    public var maxBias: Float = 0.1
    /// β: how far back towards x the walk goes after a misclassified point.
    public var backStep: Float = 0.9
    /// The valid input range (nil: unbounded).
    public var inputRange: ClosedRange<Float>?

    public init(norm: PGD.Norm = .l2, epsilon: Float, iterations: Int = 100, restarts: Int = 1,
                inputRange: ClosedRange<Float>? = 0...1) {
        precondition(epsilon >= 0 && iterations >= 1 && restarts >= 1, "FAB: ε ≥ 0, iterations and restarts ≥ 1")
        self.norm = norm
        self.epsilon = epsilon
        self.iterations = iterations
        self.restarts = restarts
        self.inputRange = inputRange
    }

    /// FAB-T on a batch: for k = 2 … targetClasses + 1, the boundary towards each sample's k-th
    /// most likely class (at x), `restarts` runs each, on the samples still robust. The result's
    /// adversarial point is the closest misclassified point within ε where one was found, else x.
    public func targetedAttack(_ classifier: Classifier, _ x: Tensor, labels: [Int], targetClasses: Int = 9,
                               generator: inout SeededGenerator) -> APGD.Result {
        let logits = withoutGrad { classifier(x) }
        let classes = logits.shape[1]
        precondition(classes >= 2, "FAB-T: the model must have at least 2 classes")
        let order = AttackLoss.descendingOrder(logits)
        var robust = zip(logits.argmax(axis: -1), labels).map { $0 == $1 }   // not attacked when misclassified
        var result = APGD.Result(adversarial: x, robust: robust, gradientEvaluations: 0)
        guard epsilon > 0 else { return result }
        // The closest misclassified point found so far and its norm, per sample of the batch.
        var bestNorm = [Float](repeating: .infinity, count: labels.count)
        for k in 1...Swift.min(targetClasses, classes - 1) {
            for restart in 0..<restarts {
                let active = robust.indices.filter { robust[$0] }
                result.gradientEvaluations += iterations
                guard !active.isEmpty else { return result }
                let (found, norms) = walk(classifier, x.samples(active), labels: active.map { labels[$0] },
                                          targets: active.map { order[$0][k] },
                                          startRadius: restart == 0 ? nil : active.map { Swift.min(bestNorm[$0], epsilon) / 2 },
                                          generator: &generator)
                var broken: [Int] = []
                for (r, i) in active.enumerated() where norms[r] < bestNorm[i] {
                    bestNorm[i] = norms[r]
                    if norms[r] <= epsilon { broken.append(r); robust[i] = false }
                }
                result.robust = robust
                if !broken.isEmpty {
                    result.adversarial = result.adversarial.replacingSamples(at: broken.map { active[$0] }, with: found.samples(broken))
                }
            }
        }
        return result
    }

    /// One run of the boundary walk towards `targets`: the closest misclassified point per sample
    /// and its distance from x (∞ where none was found).
    func walk(_ classifier: Classifier, _ x: Tensor, labels: [Int], targets: [Int], startRadius: [Float]?,
              generator: inout SeededGenerator) -> (adversarial: Tensor, norms: [Float]) {
        let batch = labels.count, d = x.valuesPerSample
        let origin = x.scalars
        let lo = inputRange?.lowerBound ?? -.infinity, hi = inputRange?.upperBound ?? .infinity
        var current = origin
        if let radii = startRadius { current = randomStart(origin, radii: radii, perSample: d, lo: lo, hi: hi, generator: &generator) }
        var closest = origin
        var closestNorm = [Float](repeating: .infinity, count: batch)
        for _ in 0..<iterations {
            let (g, w) = boundary(classifier, Tensor(current, shape: x.shape), labels: labels, targets: targets)
            // The iterate the steps start from: one copy per iteration (a slice of `current` itself
            // would make every write below copy the whole batch).
            let previous = current
            for i in 0..<batch {
                let range = (i * d)..<((i + 1) * d)
                let wi = w[range], xi = previous[range], oi = origin[range]
                // π: g + wᵀ(z − x⁽ⁱ⁾) = 0, so from a point p the step δ solves wᵀδ = −g − wᵀ(p − x⁽ⁱ⁾).
                var shift: Double = 0
                for j in 0..<d { shift += Double(wi[wi.startIndex + j]) * Double(oi[oi.startIndex + j] - xi[xi.startIndex + j]) }
                let fromCurrent = FAB.minimalStep(norm, normal: wi, offset: -Double(g[i]), at: xi, range: lo...hi)
                let fromOrigin = FAB.minimalStep(norm, normal: wi, offset: -Double(g[i]) - shift, at: oi, range: lo...hi)
                let a = FAB.length(fromCurrent[...], norm), b = FAB.length(fromOrigin[...], norm)
                let alpha = a + b > 0 ? Swift.min(Swift.max(a / (a + b), 0), maxBias) : 0
                for j in 0..<d {
                    let stepped = (1 - alpha) * (xi[xi.startIndex + j] + overshoot * fromCurrent[j])
                        + alpha * (oi[oi.startIndex + j] + overshoot * fromOrigin[j])
                    current[i * d + j] = Swift.min(Swift.max(stepped, lo), hi)
                }
            }
            let predicted = withoutGrad { classifier(Tensor(current, shape: x.shape)) }.argmax(axis: -1)
            for i in 0..<batch where predicted[i] != labels[i] {
                var delta = [Float](repeating: 0, count: d)
                for j in 0..<d { delta[j] = current[i * d + j] - origin[i * d + j] }
                let distance = FAB.length(delta[...], norm)
                if distance < closestNorm[i] {
                    closestNorm[i] = distance
                    for j in 0..<d { closest[i * d + j] = current[i * d + j] }
                }
                for j in 0..<d { current[i * d + j] = origin[i * d + j] + backStep * delta[j] }
            }
        }
        return (Tensor(closest, shape: x.shape), closestNorm)
    }

    /// g = f_t − f_y at x per sample and its input gradient (flattened, `[B·d]`).
    func boundary(_ classifier: Classifier, _ x: Tensor, labels: [Int], targets: [Int]) -> (g: [Float], gradient: [Float]) {
        let input = x.detached().requiringGrad()
        let logits = withGrad { classifier(input) }
        let k = logits.shape[1], z = logits.scalars
        var seed = [Float](repeating: 0, count: labels.count * k)
        var g = [Float](repeating: 0, count: labels.count)
        for (i, (y, t)) in zip(labels, targets).enumerated() {
            seed[i * k + t] += 1
            seed[i * k + y] -= 1
            g[i] = z[i * k + t] - z[i * k + y]
        }
        guard logits.requiresGrad else { return (g, [Float](repeating: 0, count: x.count)) }
        return (g, gradients(of: logits, wrt: [input], seed: Tensor(seed, shape: [labels.count, k]))[0].scalars)
    }

    /// A random start x + r·u per sample, u a random direction of unit norm (normal for ℓ2,
    /// uniform in [−1, 1]ᵈ scaled to unit ℓ∞ norm for ℓ∞), clipped to the input range.
    func randomStart(_ origin: [Float], radii: [Float], perSample d: Int, lo: Float, hi: Float,
                     generator: inout SeededGenerator) -> [Float] {
        let shape = [radii.count, d]
        let u = norm == .l2 ? Tensor.normal(shape, generator: &generator) : Tensor.uniform(shape, low: -1, high: 1, generator: &generator)
        var start = u.scalars
        for i in radii.indices {
            let scale = radii[i] / Swift.max(FAB.length(start[(i * d)..<((i + 1) * d)], norm), 1e-12)
            for j in 0..<d { start[i * d + j] = Swift.min(Swift.max(origin[i * d + j] + scale * start[i * d + j], lo), hi) }
        }
        return start
    }

    /// ‖v‖₂ or ‖v‖∞.
    static func length(_ v: ArraySlice<Float>, _ norm: PGD.Norm) -> Float {
        switch norm {
        case .l2: return Float(v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
        case .linf: return v.reduce(0) { Swift.max($0, Swift.abs($1)) }
        }
    }

    /// The smallest step δ (in ℓ2 or ℓ∞) from the point p onto the hyperplane wᵀδ = c that keeps
    /// p + δ in `range` (FAB's projection onto π ∩ [0, 1]ᵈ).
    ///
    /// With l = lo − p ≤ 0 ≤ u = hi − p and s = sign(c), the optimum (KKT of the convex problem)
    /// is δⱼ = s·sign(wⱼ)·min(μ·aⱼ, capⱼ) — aⱼ = |wⱼ| for ℓ2, 1 for ℓ∞; capⱼ the room in the
    /// direction s·sign(wⱼ) — with μ ≥ 0 the root of the non-decreasing, piecewise-linear
    ///
    ///     h(μ) = Σⱼ |wⱼ|·min(μ·aⱼ, capⱼ) = |c|,
    ///
    /// found exactly by sweeping the sorted breakpoints capⱼ/aⱼ. When even the full box cannot
    /// reach the hyperplane, every coordinate goes to its bound (the closest the box gets).
    /// Non-finite entries of w count as 0, and a non-finite c gives no step.
    static func minimalStep(_ norm: PGD.Norm, normal w: ArraySlice<Float>, offset c: Double, at p: ArraySlice<Float>,
                            range: ClosedRange<Float>) -> [Float] {
        let d = w.count
        var step = [Float](repeating: 0, count: d)
        guard c != 0, c.isFinite else { return step }   // on the plane already, or no usable linearisation
        let s: Float = c > 0 ? 1 : -1
        var caps = [Float](repeating: 0, count: d), weights = [Float](repeating: 0, count: d)
        var breakpoints: [(at: Double, j: Int)] = []
        breakpoints.reserveCapacity(d)
        for j in 0..<d {
            let wj = w[w.startIndex + j], pj = p[p.startIndex + j]
            guard wj != 0, wj.isFinite else { continue }
            caps[j] = s * wj > 0 ? range.upperBound - pj : pj - range.lowerBound
            weights[j] = norm == .l2 ? Swift.abs(wj) : 1
            if caps[j] > 0 { breakpoints.append((Double(caps[j]) / Double(weights[j]), j)) }
        }
        breakpoints.sort { $0.at < $1.at }
        let target = Swift.abs(c)
        var slope = breakpoints.reduce(0.0) { $0 + Double(Swift.abs(w[w.startIndex + $1.j])) * Double(weights[$1.j]) }
        var saturated = 0.0, mu = Double.infinity
        for (at, j) in breakpoints {
            if saturated + slope * at >= target { mu = (target - saturated) / slope; break }
            let wj = Double(Swift.abs(w[w.startIndex + j]))
            saturated += wj * Double(caps[j])
            slope -= wj * Double(weights[j])
        }
        for j in 0..<d where weights[j] != 0 && caps[j] > 0 {
            let magnitude = mu.isFinite ? Swift.min(Float(mu) * weights[j], caps[j]) : caps[j]
            step[j] = w[w.startIndex + j] > 0 ? s * magnitude : -s * magnitude
        }
        return step
    }
}
