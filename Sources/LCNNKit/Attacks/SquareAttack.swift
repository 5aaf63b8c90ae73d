import Foundation
import TensorCore

/// Square attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020): a score-based black-box
/// attack — it only queries the logits, never a gradient — and so the check that white-box
/// robustness is not an artefact of masked gradients.
///
/// Random search on the margin m(x) = z_y − max_{i≠y} z_i (a sample is broken when m < 0): each
/// query changes the current perturbation δ in one random s×s window (the same window for the
/// batch), and the change is kept for the samples whose margin it lowers.
/// - ℓ∞ (§3.1): δ starts as vertical stripes of ±ε; a query sets the window of each channel to
///   ±ε (one random sign per channel).
/// - ℓ2 (§3.2): δ starts as a grid of ε-scaled "meta-pseudo-Gaussian" blocks; a query moves the
///   mass of a second random window into the first, adding a fresh block there, so ‖δ‖₂ = ε.
/// The window side is s = round(√(p·H·W)) (≥ 1 for ℓ∞; ≥ 3 and odd for ℓ2), with p = 0.8 halved
/// at 10, 50, 200, 500, 1,000, 2,000, 4,000, 6,000 and 8,000 of 10,000 queries (scaled to the
/// budget). Inputs are NCHW images in the input range.
public struct SquareAttack: Sendable {
    public var norm: PGD.Norm
    public var epsilon: Float
    /// Queries per sample (AutoAttack: 5,000).
    public var queries: Int
    /// p_init, the initial fraction of the image a window covers.
    public var initialFraction: Float = 0.8
    /// The valid input range (nil: unbounded, e.g. two-moons coordinates).
    public var inputRange: ClosedRange<Float>?

    public init(norm: PGD.Norm = .l2, epsilon: Float, queries: Int = 5_000, inputRange: ClosedRange<Float>? = 0...1) {
        precondition(epsilon >= 0 && queries >= 1, "Square: ε ≥ 0 and at least one query")
        self.norm = norm
        self.epsilon = epsilon
        self.queries = queries
        self.inputRange = inputRange
    }

    /// The window fraction at query `i` of `n` (the published schedule).
    public static func fraction(initial: Float, query i: Int, of n: Int) -> Float {
        let scaled = Int(Double(i) / Double(Swift.max(n, 1)) * 10_000)
        let thresholds = [10, 50, 200, 500, 1_000, 2_000, 4_000, 6_000, 8_000]
        let halvings = thresholds.filter { scaled > $0 }.count
        return initial / Float(1 << halvings)
    }

    /// The attack on a batch `[B, C, H, W]` (or `[B, d]`, as one row of d pixels): the best point
    /// per sample and whether it is misclassified. Samples misclassified at x are not attacked.
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int],
                       generator: inout SeededGenerator) -> APGD.Result {
        if x.rank != 4 {
            let flat = x.reshaped(to: [x.shape[0], 1, 1, x.valuesPerSample])
            let sampleShape = Array(x.shape.dropFirst())
            // The classifier sees batches of any size (the attack queries subsets of the rows).
            var r = attack({ classifier($0.reshaped(to: [$0.shape[0]] + sampleShape)) }, flat, labels: labels, generator: &generator)
            r.adversarial = r.adversarial.reshaped(to: x.shape)
            return r
        }
        let (batch, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let per = c * h * w
        let clean = x.scalars
        let lo = inputRange?.lowerBound ?? -.infinity, hi = inputRange?.upperBound ?? .infinity
        func margins(_ images: [Float], _ rows: [Int]) -> [Float] {
            let t = Tensor(images, shape: [rows.count, c, h, w])
            return AttackLoss.margins(withoutGrad { classifier(t) }, labels: rows.map { labels[$0] })
        }
        // δ per sample (the perturbation before clipping) and the clipped best point.
        var delta = [Float](repeating: 0, count: batch * per)
        switch norm {
        case .linf:
            for i in 0..<batch {
                for ch in 0..<c {
                    for col in 0..<w {
                        let v: Float = generator.nextInt(below: 2) == 0 ? -epsilon : epsilon
                        for row in 0..<h { delta[i * per + (ch * h + row) * w + col] = v }
                    }
                }
            }
        case .l2:
            for i in 0..<batch {
                var d = [Float](repeating: 0, count: per)
                let s = Swift.max(h / 5, 1)
                let start = Swift.max((h - 5 * s) / 2, 0)
                var top = start
                while top + s <= h {
                    var left = start
                    while left + s <= w {
                        let block = SquareAttack.metaPseudoGaussian(s, generator: &generator)
                        for ch in 0..<c {
                            let sign: Float = generator.nextInt(below: 2) == 0 ? -1 : 1
                            for a in 0..<s { for b in 0..<s { d[(ch * h + top + a) * w + left + b] += sign * block[a * s + b] } }
                        }
                        left += s
                    }
                    top += s
                }
                let scale = epsilon / Swift.max(SquareAttack.norm(d[...]), 1e-12)
                for k in 0..<per { delta[i * per + k] = d[k] * scale }
            }
        }
        var best = [Float](repeating: 0, count: batch * per)
        for k in 0..<(batch * per) { best[k] = Swift.min(Swift.max(clean[k] + delta[k], lo), hi) }
        let all = Array(0..<batch)
        let start = margins(clean, all)
        let correct = zip(withoutGrad { classifier(x) }.argmax(axis: -1), labels).map { $0 == $1 }
        var margin = margins(best, all)
        for i in 0..<batch where !correct[i] { margin[i] = start[i] }   // not attacked
        if epsilon > 0 {
            for query in 1..<queries {
                let active = all.filter { correct[$0] && margin[$0] > 0 }
                if active.isEmpty { break }
                let p = SquareAttack.fraction(initial: initialFraction, query: query, of: queries)
                var side = Int((Float(h * w) * p).squareRoot().rounded())
                switch norm {
                case .linf: side = Swift.min(Swift.max(side, 1), Swift.min(h, w))
                case .l2:
                    side = Swift.max(side, 3)
                    if side % 2 == 0 { side += 1 }
                    side = Swift.min(side, Swift.min(h, w))
                }
                let top = generator.nextInt(below: h - side + 1), left = generator.nextInt(below: w - side + 1)
                let top2 = generator.nextInt(below: h - side + 1), left2 = generator.nextInt(below: w - side + 1)
                var candidates = [Float](repeating: 0, count: active.count * per)
                var candidateDeltas = [Float](repeating: 0, count: active.count * per)
                for (r, i) in active.enumerated() {
                    var d = Array(delta[(i * per)..<((i + 1) * per)])
                    switch norm {
                    case .linf:
                        proposeLinf(&d, clean: clean[(i * per)...], c: c, h: h, w: w, top: top, left: left, side: side, generator: &generator)
                    case .l2:
                        var squares: Float = 0
                        for k in 0..<per { let v = best[i * per + k] - clean[i * per + k]; squares += v * v }
                        proposeL2(&d, imageNorm: squares.squareRoot(), c: c, h: h, w: w, window: (top, left), second: (top2, left2),
                                  side: side, generator: &generator)
                    }
                    for k in 0..<per {
                        candidateDeltas[r * per + k] = d[k]
                        candidates[r * per + k] = Swift.min(Swift.max(clean[i * per + k] + d[k], lo), hi)
                    }
                }
                let proposed = margins(candidates, active)
                for (r, i) in active.enumerated() where proposed[r] < margin[i] {
                    margin[i] = proposed[r]
                    for k in 0..<per {
                        delta[i * per + k] = candidateDeltas[r * per + k]
                        best[i * per + k] = candidates[r * per + k]
                    }
                }
            }
        }
        let broken = (0..<batch).map { correct[$0] && margin[$0] < 0 }
        let adversarial = Tensor(best, shape: x.shape).replacingSamples(where: correct.map { !$0 }, with: x)
        return APGD.Result(adversarial: adversarial, robust: (0..<batch).map { correct[$0] && !broken[$0] },
                           gradientEvaluations: 0)
    }

    /// ℓ∞ proposal: the window of each channel set to ±ε, resampled (up to 10 times) when the
    /// clipped window would not change.
    func proposeLinf(_ d: inout [Float], clean: ArraySlice<Float>, c: Int, h: Int, w: Int, top: Int, left: Int, side: Int,
                     generator: inout SeededGenerator) {
        let base = clean.startIndex
        let lo = inputRange?.lowerBound ?? -.infinity, hi = inputRange?.upperBound ?? .infinity
        for _ in 0..<10 {
            var changed = false
            for ch in 0..<c {
                let v: Float = generator.nextInt(below: 2) == 0 ? -epsilon : epsilon
                for a in 0..<side {
                    for b in 0..<side {
                        let k = (ch * h + top + a) * w + left + b
                        let before = Swift.min(Swift.max(clean[base + k] + d[k], lo), hi)
                        let after = Swift.min(Swift.max(clean[base + k] + v, lo), hi)
                        if Swift.abs(after - before) > 1e-7 { changed = true }
                        d[k] = v
                    }
                }
            }
            if changed { return }
        }
    }

    /// ℓ2 proposal (§3.2): the window gets a fresh ±block plus its old content, rescaled so that
    /// the mass of both windows is kept (plus the budget that clipping left unused, from
    /// `imageNorm` = ‖clip(x + δ) − x‖₂); the second window is emptied; δ is rescaled to ‖δ‖₂ = ε.
    func proposeL2(_ d: inout [Float], imageNorm: Float, c: Int, h: Int, w: Int, window: (Int, Int), second: (Int, Int),
                   side: Int, generator: inout SeededGenerator) {
        func index(_ ch: Int, _ a: Int, _ b: Int, _ at: (Int, Int)) -> Int { (ch * h + at.0 + a) * w + at.1 + b }
        func inWindow(_ row: Int, _ col: Int, _ at: (Int, Int)) -> Bool {
            row >= at.0 && row < at.0 + side && col >= at.1 && col < at.1 + side
        }
        // ‖δ restricted to the union of both windows‖ (all channels).
        var unionSquares: Float = 0
        for ch in 0..<c {
            for row in 0..<h {
                for col in 0..<w where inWindow(row, col, window) || inWindow(row, col, second) {
                    let v = d[(ch * h + row) * w + col]
                    unionSquares += v * v
                }
            }
        }
        let block = SquareAttack.metaPseudoGaussian(side, generator: &generator)
        var fresh = [Float](repeating: 0, count: c * side * side)
        for ch in 0..<c {
            var oldSquares: Float = 0
            for a in 0..<side { for b in 0..<side { let v = d[index(ch, a, b, window)]; oldSquares += v * v } }
            let oldNorm = oldSquares.squareRoot()
            let sign: Float = generator.nextInt(below: 2) == 0 ? -1 : 1
            var squares: Float = 0
            for a in 0..<side {
                for b in 0..<side {
                    let v = sign * block[a * side + b] + d[index(ch, a, b, window)] / (1e-12 + oldNorm)
                    fresh[(ch * side + a) * side + b] = v
                    squares += v * v
                }
            }
            let target = (Swift.max(epsilon * epsilon - imageNorm * imageNorm, 0) / Float(c) + unionSquares).squareRoot()
            let scale = target / (1e-12 + squares.squareRoot())
            for k in 0..<(side * side) { fresh[ch * side * side + k] *= scale }
        }
        for ch in 0..<c { for a in 0..<side { for b in 0..<side { d[index(ch, a, b, second)] = 0 } } }
        for ch in 0..<c { for a in 0..<side { for b in 0..<side { d[index(ch, a, b, window)] = fresh[(ch * side + a) * side + b] } } }
        let total = SquareAttack.norm(d[...])
        let rescale = epsilon / Swift.max(total, 1e-12)
        for k in d.indices { d[k] *= rescale }
    }

    static func norm(_ v: ArraySlice<Float>) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// The s×s "meta-pseudo-Gaussian" block of the ℓ2 attack: the top half a pseudo-Gaussian
    /// rectangle, the bottom half its negative, unit ℓ2 norm, transposed with probability ½.
    static func metaPseudoGaussian(_ s: Int, generator: inout SeededGenerator) -> [Float] {
        var block = [Float](repeating: 0, count: s * s)
        let upper = pseudoGaussian(s / 2, s), lower = pseudoGaussian(s - s / 2, s)
        for a in 0..<(s / 2) { for b in 0..<s { block[a * s + b] = upper[a * s + b] } }
        for a in 0..<(s - s / 2) { for b in 0..<s { block[(s / 2 + a) * s + b] = -lower[a * s + b] } }
        let n = norm(block[...])
        if n > 0 { for k in block.indices { block[k] /= n } }
        if generator.nextInt(below: 2) == 0 {
            var t = block
            for a in 0..<s { for b in 0..<s { t[b * s + a] = block[a * s + b] } }
            block = t
        }
        return block
    }

    /// A rows×cols rectangle of nested frames around its centre, frame r weighted 1/(r + 1)²,
    /// with unit ℓ2 norm.
    static func pseudoGaussian(_ rows: Int, _ cols: Int) -> [Float] {
        guard rows > 0 && cols > 0 else { return [] }
        var block = [Float](repeating: 0, count: rows * cols)
        let cr = rows / 2 + 1, cc = cols / 2 + 1
        var r0 = cr - 1, c0 = cc - 1
        for r in 0..<Swift.max(cr, cc) {
            for a in Swift.max(r0, 0)..<Swift.min(r0 + 2 * r + 1, rows) {
                for b in Swift.max(c0, 0)..<Swift.min(c0 + 2 * r + 1, cols) { block[a * cols + b] += 1 / Float((r + 1) * (r + 1)) }
            }
            r0 -= 1; c0 -= 1
        }
        let n = norm(block[...])
        return n > 0 ? block.map { $0 / n } : block
    }
}
