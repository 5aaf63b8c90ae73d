import Datasets
import Foundation
import NN
import TensorCore

/// Curvature of a two-class model on 2-D inputs, computed exactly from the logit margin.
///
/// With two classes the cross-entropy depends on the logits only through the margin
/// m(x) = z_y(x) − z_other(x): ℓ = softplus(−m), so
///
///     ∇ₓℓ  = −σ(−m) ∇m,
///     ∇²ₓℓ = σ(−m) (σ(m) ∇m∇mᵀ − ∇²m).
///
/// The loss's normalised curvature C(x) = ‖∇²ₓℓ‖₂ / ‖∇ₓℓ‖₂ is therefore
/// ‖σ(m) ∇m∇mᵀ − ∇²m‖₂ / ‖∇m‖₂: the factor σ(−m) cancels. This matters on two moons. A
/// confident model has margins of 20–60 there, so ‖∇ₓℓ‖ ≈ e^{−m}‖∇m‖ falls far below the
/// ε = 1e-6 that G3 (``CurvatureMeasurement``) adds to the denominator for numerical
/// stability. There G3 reads ‖∇²ₓℓ‖/ε ≈ 0: the more over-confident a model, the lower its
/// measured curvature. (The Standard network of `lcnn demo` had 110 of 150 test points with
/// ‖∇ₓℓ‖ < 1e-6 and G3 = 0 on 91 of them.) Cancelling σ(−m) measures the paper's
/// C(x) in its ε → 0 limit, which is what it defines, on every point.
///
/// On two-dimensional inputs the Hessian of m is read in full (one Hessian-vector product per
/// input axis), so the spectral norms are exact rather than power-iteration estimates.
///
/// The decomposition also shows what the loss curvature means on a 2-D problem: for a piecewise
/// linear network (Standard, softplus β = 1000, ∇²m ≈ 0 between kinks) C(x) ≈ σ(m)‖∇m‖, the
/// slope of the logit margin. ``Values/marginCurvature``, ‖∇²m‖₂ / ‖∇m‖₂, is the
/// normalised curvature of the network itself. It does not change when the logits are scaled,
/// and the LCNN's architecture bounds it (paper Theorem 1, on f).
public enum MoonsCurvature {
    /// Per-sample values, in dataset order.
    public struct Values: Sendable, Equatable {
        /// m = z_y − z_other (positive when correctly classified).
        public var margin: [Double]
        /// G1 = ‖∇ₓℓ‖₂ = σ(−m)‖∇m‖₂.
        public var lossGradientNorm: [Double]
        /// C(x) of the per-sample loss (ε → 0), ‖σ(m)∇m∇mᵀ − ∇²m‖₂ / ‖∇m‖₂.
        public var lossCurvature: [Double]
        /// ‖∇ₓm‖₂.
        public var marginGradientNorm: [Double]
        /// ‖∇²ₓm‖₂ / ‖∇ₓm‖₂, the network's own normalised curvature.
        public var marginCurvature: [Double]

        public init(margin: [Double] = [], lossGradientNorm: [Double] = [], lossCurvature: [Double] = [],
                    marginGradientNorm: [Double] = [], marginCurvature: [Double] = []) {
            self.margin = margin
            self.lossGradientNorm = lossGradientNorm
            self.lossCurvature = lossCurvature
            self.marginGradientNorm = marginGradientNorm
            self.marginCurvature = marginCurvature
        }

        public var count: Int { margin.count }
    }

    /// The spectral norm max |λ| of the symmetric 2 × 2 matrix [[a, b], [b, c]].
    public static func spectralNorm(_ a: Double, _ b: Double, _ c: Double) -> Double {
        let mean = (a + c) / 2, radius = (((a - c) / 2) * ((a - c) / 2) + b * b).squareRoot()
        return abs(mean) + radius
    }

    /// The values of one sample from its margin m, ∇m (2 entries) and ∇²m (row-major 2 × 2,
    /// symmetrised here).
    public static func values(margin m: Double, gradient g: [Double], hessian h: [Double])
        -> (lossGradientNorm: Double, lossCurvature: Double, marginGradientNorm: Double, marginCurvature: Double) {
        precondition(g.count == 2 && h.count == 4, "MoonsCurvature: 2-D inputs only")
        let norm = (g[0] * g[0] + g[1] * g[1]).squareRoot()
        let b = (h[1] + h[2]) / 2
        // σ(m) and σ(−m) without overflow.
        let sPlus = m >= 0 ? 1 / (1 + Foundation.exp(-m)) : Foundation.exp(m) / (1 + Foundation.exp(m))
        let sMinus = m >= 0 ? Foundation.exp(-m) / (1 + Foundation.exp(-m)) : 1 / (1 + Foundation.exp(m))
        let lossHessianNorm = spectralNorm(sPlus * g[0] * g[0] - h[0], sPlus * g[0] * g[1] - b, sPlus * g[1] * g[1] - h[3])
        let marginHessianNorm = spectralNorm(h[0], b, h[3])
        return (sMinus * norm, norm > 0 ? lossHessianNorm / norm : 0, norm, norm > 0 ? marginHessianNorm / norm : 0)
    }

    /// Measures the first `count` samples of a two-class dataset of 2-D points with `model` in
    /// evaluation mode.
    public static func measure(model: any Layer, dataset: Dataset, count: Int? = nil, batchSize: Int = 250) -> Values {
        precondition(dataset.classes == 2 && dataset.sampleSize == 2, "MoonsCurvature: two classes of 2-D points only")
        let n = Swift.min(count ?? dataset.count, dataset.count)
        var out = Values()
        var start = 0
        while start < n {
            let end = Swift.min(n, start + batchSize)
            let x = dataset.images[rows: start..<end].copy()
            let labels = Array(dataset.labels[start..<end])
            // Σᵢ mᵢ: sample i's row of its input gradient is ∇mᵢ, and of each Hessian-vector product ∇²mᵢ v.
            let signs = Tensor(labels.flatMap { $0 == 0 ? [Float(1), -1] : [-1, 1] }, shape: [labels.count, 2])
            let (margins, gradient, rows) = inference { () -> ([Float], [Float], [[Float]]) in
                let hessian = InputHessian(at: x) { x in (model(x) * signs).sum() }
                let logits = model.predict(x).scalars
                let margins = labels.indices.map { i in
                    labels[i] == 0 ? logits[2 * i] - logits[2 * i + 1] : logits[2 * i + 1] - logits[2 * i]
                }
                let rows = (0..<2).map { axis -> [Float] in
                    let e = Tensor((0..<labels.count).flatMap { _ in axis == 0 ? [Float(1), 0] : [0, 1] }, shape: [labels.count, 2])
                    return hessian.hvp(e).scalars
                }
                return (margins, hessian.gradientValue.scalars, rows)
            }
            for i in labels.indices {
                let v = values(margin: Double(margins[i]), gradient: [Double(gradient[2 * i]), Double(gradient[2 * i + 1])],
                               hessian: [Double(rows[0][2 * i]), Double(rows[0][2 * i + 1]),
                                         Double(rows[1][2 * i]), Double(rows[1][2 * i + 1])])
                out.margin.append(Double(margins[i]))
                out.lossGradientNorm.append(v.lossGradientNorm)
                out.lossCurvature.append(v.lossCurvature)
                out.marginGradientNorm.append(v.marginGradientNorm)
                out.marginCurvature.append(v.marginCurvature)
            }
            start = end
        }
        return out
    }
}

/// The table and sentences `lcnn demo` prints: per model, accuracy and PGD robust accuracy with
/// 95 % Wilson intervals, mean G1, mean C(x) of the loss and mean C of the logit margin with 95 %
/// bootstrap intervals, and the cost of one optimiser step; then, per label-noise level, a
/// paired test of LCNN against Standard on the same test points, in words that follow from
/// the test and not from the paper.
public struct MoonsSummary: Sendable {
    /// One model's row.
    public struct Row: Sendable {
        public var name: String
        public var method: TrainingMethod
        public var labelNoise: Float
        public var accuracy: Estimate
        /// Mean G1 = ‖∇ₓℓ‖₂ over the measured test points.
        public var gradientNorm: Estimate
        /// Mean C(x) of the per-sample loss (``MoonsCurvature``, ε → 0).
        public var curvature: Estimate
        /// Mean ‖∇²m‖/‖∇m‖ of the logit margin.
        public var marginCurvature: Estimate
        /// ℓ2-PGD robust accuracy at ``robustEpsilon``.
        public var robustAccuracy: Estimate
        public var robustEpsilon: Float
        /// Median over epochs of milliseconds per optimiser step (nil without recorded steps).
        public var millisecondsPerStep: Double?
        /// Test points with ‖∇ₓℓ‖ < 1e-6, where G3 with ε = 1e-6 (`lcnn eval`) reads ≈ 0.
        public var saturatedCount: Int
        /// β and γ at the start (after the first epoch) and end of training (LCNN only).
        public var beta: (first: Double, last: Double)?
        public var gamma: (first: Double, last: Double)?
        /// Per-sample values, for the paired comparisons.
        public var curvatureValues: MoonsCurvature.Values
    }

    /// One paired comparison of LCNN with Standard at one label-noise level.
    public struct Finding: Sendable {
        public var labelNoise: Float
        /// What was compared, e.g. "mean curvature C(x)".
        public var quantity: String
        public var lcnnMean: Double
        public var standardMean: Double
        /// LCNN − Standard, paired bootstrap over the same test points.
        public var comparison: Comparison
        /// Of the claim "LCNN's is lower".
        public var verdict: Verdict
        public var sentence: String
    }

    public var rows: [Row]
    public var level: Double

    public init(rows: [Row], level: Double = 0.95) {
        self.rows = rows
        self.level = level
    }

    /// Resamples of the bootstrap intervals of the table's means.
    static let bootstrapResamples = 2000
    /// Resamples of the paired tests: the smallest p-value B resamples can give is 2/(B + 1),
    /// so 40,000 resolve p below 1e-4 (the test costs milliseconds on a few hundred points).
    static let pairedResamples = 40_000

    /// Builds a row from a trained run, its evaluation (accuracy and PGD flags), the exact
    /// curvature values and the run's `metrics.jsonl` lines.
    public static func row(run: MoonsExperiment.TrainedRun, evaluation: EvaluationResult, curvature: MoonsCurvature.Values,
                           metrics: [EpochMetrics], robustEpsilon: Float, level: Double = 0.95) -> Row {
        let correct = evaluation.testCorrect
        let accuracy = correct.map { Statistics.proportion(successes: $0.trueCount, trials: $0.count, level: level) }
            ?? Estimate(value: evaluation.testAccuracy, interval: .undefined(level: level))
        let point = evaluation.pgd?.points.first { $0.epsilon == robustEpsilon }
        let robust = point.map { Statistics.proportion(successes: $0.robustCorrect, trials: $0.samples, level: level) }
            ?? .undefined(level: level)
        func mean(_ xs: [Double]) -> Estimate {
            Statistics.bootstrapMean(xs, level: level, resamples: bootstrapResamples, seed: 0)
        }
        let betas = metrics.compactMap(\.meanBeta), gammas = metrics.compactMap(\.meanGamma)
        return Row(name: run.run.name, method: run.run.method, labelNoise: run.run.labelNoise, accuracy: accuracy,
                   gradientNorm: mean(curvature.lossGradientNorm), curvature: mean(curvature.lossCurvature),
                   marginCurvature: mean(curvature.marginCurvature), robustAccuracy: robust, robustEpsilon: robustEpsilon,
                   millisecondsPerStep: millisecondsPerStep(metrics),
                   saturatedCount: curvature.lossGradientNorm.filter { $0 < 1e-6 }.count,
                   beta: betas.isEmpty ? nil : (betas[0], betas[betas.count - 1]),
                   gamma: gammas.isEmpty ? nil : (gammas[0], gammas[gammas.count - 1]),
                   curvatureValues: curvature)
    }

    /// The cost of training: the median over epochs of ``EpochMetrics/millisecondsPerStep``
    /// (wall-clock training time of the epoch divided by its optimiser steps; the median
    /// ignores epochs slowed by other work on the machine). nil when no epoch recorded its steps.
    public static func millisecondsPerStep(_ metrics: [EpochMetrics]) -> Double? {
        Statistics.median(metrics.compactMap(\.millisecondsPerStep))
    }

    /// "clean labels" or "20% flipped labels".
    public static func condition(_ labelNoise: Float) -> String {
        labelNoise > 0 ? "\(Int((labelNoise * 100).rounded()))% flipped labels" : "clean labels"
    }

    /// The sentence for one paired comparison (difference = LCNN − Standard), its wording chosen
    /// by ``Verdict/directional(_:claimed:alpha:)`` on the claim "LCNN's is lower": "… is 3.1×
    /// lower than Standard's (…, p < 1e-4)" when borne out, "… is 1.2× higher … : the paper's
    /// claim is not borne out here" when contradicted, "… is not significantly different …"
    /// otherwise.
    public static func sentence(quantity: String, labelNoise: Float, lcnnMean: Double, standardMean: Double,
                                comparison c: Comparison, alpha: Double = 0.05) -> String {
        let opening = "With \(condition(labelNoise)) the LCNN's \(quantity)"
        let test = "\(c.test) over \(c.count) test points, \(c.pValueText)"
        let means = "\(number(lcnnMean)) vs \(number(standardMean))"
        func factor(_ x: Double) -> String { x.isFinite ? String(format: "%.3g×", x) : "infinitely" }
        switch Verdict.directional(c, claimed: .less, alpha: alpha) {
        case .bornOut:
            return "\(opening) is \(factor(standardMean / lcnnMean)) lower than Standard's (\(means); \(test))."
        case .contradicted:
            return "\(opening) is \(factor(lcnnMean / standardMean)) higher than Standard's (\(means); \(test)): "
                + "the paper's claim of lower curvature is not borne out here."
        case .inconclusive, .notMeasured:
            if c.hasNaN { return "\(opening) could not be compared with Standard's (\(means); no valid paired test)." }
            return "\(opening) is not significantly different from Standard's (\(means); \(test))."
        }
    }

    /// The paired comparisons of LCNN with Standard, per label-noise level: C(x) of the loss and
    /// C of the logit margin.
    public var findings: [Finding] {
        var out: [Finding] = []
        for noise in rows.map(\.labelNoise).uniqued() {
            guard let standard = rows.first(where: { $0.labelNoise == noise && $0.method == .standard }),
                  let lcnn = rows.first(where: { $0.labelNoise == noise && $0.method == .lcnn }) else { continue }
            let pairs: [(String, KeyPath<MoonsCurvature.Values, [Double]>)] = [
                ("mean curvature C(x) of the loss", \.lossCurvature),
                ("mean curvature of its logit margin", \.marginCurvature),
            ]
            for (quantity, path) in pairs {
                let a = lcnn.curvatureValues[keyPath: path], b = standard.curvatureValues[keyPath: path]
                let n = Swift.min(a.count, b.count)
                let c = Statistics.pairedBootstrap(Array(a.prefix(n)), Array(b.prefix(n)), level: level,
                                                   resamples: Self.pairedResamples, seed: 0)
                let (ma, mb) = (Statistics.mean(Array(a.prefix(n))), Statistics.mean(Array(b.prefix(n))))
                out.append(Finding(labelNoise: noise, quantity: quantity, lcnnMean: ma, standardMean: mb, comparison: c,
                                   verdict: Verdict.directional(c, claimed: .less),
                                   sentence: Self.sentence(quantity: quantity, labelNoise: noise, lcnnMean: ma,
                                                           standardMean: mb, comparison: c)))
            }
        }
        return out
    }

    /// `v [lo, hi]` with the interval in the same format.
    static func estimate(_ e: Estimate, _ f: (Double) -> String) -> String {
        e.value.isNaN ? "—" : "\(f(e.value)) \(e.interval.isUndefined ? "" : e.interval.formatted(f))"
    }

    /// Three significant digits.
    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.3g", x) : "—" }

    static func percentage(_ x: Double) -> String { String(format: "%.1f", 100 * x) }

    /// The table as Markdown.
    public var table: String {
        let level = Int((self.level * 100).rounded())
        let epsilon = rows.first.map { "\($0.robustEpsilon)" } ?? "ε"
        var lines = [
            "| model | test accuracy % [\(level)% Wilson] | mean ‖∇ₓℓ‖₂ [\(level)% bootstrap] | mean C(x) of the loss [\(level)% bootstrap] "
                + "| mean C of the logit margin [\(level)% bootstrap] | ℓ2-PGD robust accuracy % at ε = \(epsilon) [\(level)% Wilson] "
                + "| ms per optimiser step (median over epochs) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows {
            lines.append("| \(r.name) | \(Self.estimate(r.accuracy, Self.percentage)) | \(Self.estimate(r.gradientNorm, Self.number)) "
                         + "| \(Self.estimate(r.curvature, Self.number)) | \(Self.estimate(r.marginCurvature, Self.number)) "
                         + "| \(Self.estimate(r.robustAccuracy, Self.percentage)) "
                         + "| \(r.millisecondsPerStep.map { String(format: "%.2f", $0) } ?? "—") |")
        }
        return lines.joined(separator: "\n")
    }

    /// Notes under the table: what the curvature columns are, and β and γ of the LCNNs.
    public var notes: [String] {
        var notes = [
            "C(x) = ‖∇²ₓℓ‖₂/‖∇ₓℓ‖₂ of the per-sample cross-entropy, exact on these 2-D inputs and without the ε = 1e-6 "
                + "of `lcnn eval`'s G3; C of the logit margin m = z_y − z_other is ‖∇²ₓm‖₂/‖∇ₓm‖₂, the network's own "
                + "curvature (see MoonsCurvature).",
        ]
        let saturated = rows.filter { $0.saturatedCount > 0 }
        if !saturated.isEmpty {
            notes.append("Test points with ‖∇ₓℓ‖ < 1e-6, where `lcnn eval`'s C(x) with ε = 1e-6 reads ≈ 0 however curved "
                         + "the model: " + saturated.map { "\($0.name) \($0.saturatedCount)/\($0.curvatureValues.count)" }
                            .joined(separator: ", ") + ".")
        }
        for r in rows {
            if let b = r.beta, let g = r.gamma {
                notes.append(String(format: "%@: mean β %.3g → %.3g, mean γ %.3g → %.3g over training (first → last epoch).",
                                    r.name, b.first, b.last, g.first, g.last))
            }
        }
        return notes
    }

    /// Table, notes and sentences as Markdown.
    public var markdown: String {
        "\(table)\n\n" + notes.map { "- " + $0 }.joined(separator: "\n") + "\n\n"
            + findings.map(\.sentence).joined(separator: "\n") + "\n"
    }
}

private extension Array where Element: Hashable {
    /// The elements in order of first appearance, without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
