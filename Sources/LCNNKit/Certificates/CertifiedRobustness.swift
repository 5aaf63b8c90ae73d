import Datasets
import Foundation
import NN
import TensorCore

/// Certified ℓ2 robustness from the model's guaranteed global bounds (``CurvatureBound`` with
/// `certify`): the Lipschitz constant L of the logit map z(x) and the bound K on its second
/// derivative. For the logit difference f_j = z_y − z_j (c = e_y − e_j, ‖c‖₂ = √2), ‖∇f_j‖ ≤ √2·L
/// and |D²f_j[u, u]| ≤ √2·K‖u‖².
///
/// - **Lipschitz margin** (Tsuzuku, Sato & Sugiyama, NeurIPS 2018): no f_j can reach 0 within
///   r = m/(√2·L), m = z_y − max_{j≠y} z_j the margin.
/// - **Curvature** (Singla & Feizi, ICML 2020, "Second-Order Provable Defenses", §4): along any
///   δ, f_j(x + δ) ≥ f_j(x) − ‖∇f_j(x)‖·‖δ‖ − (√2K/2)·‖δ‖², and this quadratic lower bound is
///   attained in the worst direction, so its root
///     r_j = (−g + √(g² + 2·k·f)) / k,   g = ‖∇f_j(x)‖, k = √2·K   (f/g when k = 0)
///   is the exact certified radius of the bound; the certificate is min_j r_j. It uses the
///   gradient at x, and so is tight where the logit map is nearly linear — where an LCNN's
///   small K makes it so.
///
/// Both ignore the [0, 1] box (they certify the whole ball), so they are conservative. A sample
/// counts as certified at ε when it is classified correctly and its radius is ≥ ε; the best
/// certificate is the larger of the two radii. The curvature certificate needs a finite K: none
/// for networks with ReLU or max-pooling.
public struct CertifiedRobustness: Sendable {
    /// The guaranteed Lipschitz constant of the logit map.
    public let lipschitz: Double
    /// The guaranteed bound on the logit map's second derivative; nil when undefined.
    public let curvature: Double?
    /// The power-iteration estimate of the Lipschitz constant (for comparison; not guaranteed).
    public let estimatedLipschitz: Double

    public init(lipschitz: Double, curvature: Double?, estimatedLipschitz: Double) {
        self.lipschitz = lipschitz
        self.curvature = curvature
        self.estimatedLipschitz = estimatedLipschitz
    }

    /// The bounds of `model` for samples of `inputShape`.
    public init(model: any Layer, inputShape: [Int]) {
        let bound = CurvatureBound.compute(for: model, inputShape: inputShape, certify: true)
        let k = bound.certifiedCurvature
        self.init(lipschitz: bound.certifiedLipschitz, curvature: k.isFinite ? k : nil, estimatedLipschitz: bound.lipschitzProduct)
    }

    /// m/(√2·L); 0 for a non-positive margin.
    public static func lipschitzRadius(margin: Double, lipschitz: Double) -> Double {
        guard margin > 0 else { return 0 }
        return lipschitz > 0 ? margin / (2.0.squareRoot() * lipschitz) : .infinity
    }

    /// The smallest r ≥ 0 with f − g·r − (k/2)·r² = 0: (−g + √(g² + 2kf))/k, or f/g for k = 0;
    /// 0 for f ≤ 0.
    public static func curvatureRadius(value f: Double, gradientNorm g: Double, hessianBound k: Double) -> Double {
        guard f > 0 else { return 0 }
        if k <= 0 { return g > 0 ? f / g : .infinity }
        // (−g + √(g² + 2kf))/k = 2f/(g + √(g² + 2kf)): the second form does not cancel when g² ≫ kf.
        return 2 * f / (g + (g * g + 2 * k * f).squareRoot())
    }

    /// Radii of one batch (per sample; 0 when misclassified).
    public struct Radii: Sendable, Equatable {
        public var correct: [Bool]
        public var lipschitz: [Double]
        /// nil when the curvature bound is undefined.
        public var curvature: [Double]?
        public var best: [Double] {
            guard let curvature else { return lipschitz }
            return zip(lipschitz, curvature).map { Swift.max($0, $1) }
        }
    }

    /// The certified radii of `x` (labels `labels`) under `classifier` (the model in evaluation mode).
    public func radii(_ classifier: Classifier, _ x: Tensor, labels: [Int]) -> Radii {
        let logits = withoutGrad { classifier(x) }
        let margins = AttackLoss.margins(logits, labels: labels)
        let correct = margins.map { $0 > 0 }
        let lipschitzRadii = margins.map { Self.lipschitzRadius(margin: Double($0), lipschitz: lipschitz) }
        guard let curvature else { return Radii(correct: correct, lipschitz: lipschitzRadii, curvature: nil) }
        let classes = logits.shape[1]
        let k = 2.0.squareRoot() * curvature
        var radii = [Double](repeating: .infinity, count: labels.count)
        let z = logits.scalars
        for offset in 1..<classes {
            // Class j = (y + offset) mod K for each sample: one backward pass per offset.
            let others = labels.map { ($0 + offset) % classes }
            let input = x.detached().requiringGrad()
            let difference = withGrad { () -> Tensor in
                let out = classifier(input)
                return (AttackLoss.pick(out, labels) - AttackLoss.pick(out, others)).sum()
            }
            let gradient = difference.requiresGrad ? gradients(of: difference, wrt: [input])[0] : Tensor.zeros(x.shape)
            let norms = gradient.perSampleNorm().scalars
            for i in labels.indices {
                let f = Double(z[i * classes + labels[i]] - z[i * classes + others[i]])
                radii[i] = Swift.min(radii[i], Self.curvatureRadius(value: f, gradientNorm: Double(norms[i]), hessianBound: k))
            }
        }
        return Radii(correct: correct, lipschitz: lipschitzRadii, curvature: zip(radii, correct).map { $1 ? $0 : 0 })
    }

    /// Certified accuracy at each ε on a dataset (evaluation mode), with per-sample flags.
    public func evaluate(model: any Layer, dataset: Dataset, epsilons: [Float], batchSize: Int = 100) -> CertifiedAccuracyReport {
        let classifier: Classifier = { x in inference { model(x) } }
        var all = Radii(correct: [], lipschitz: [], curvature: curvature == nil ? nil : [])
        for batch in DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false).batches(epoch: 0) {
            let r = radii(classifier, batch.images, labels: batch.labels)
            all.correct += r.correct
            all.lipschitz += r.lipschitz
            if let c = r.curvature { all.curvature? += c }
        }
        func points(_ radii: [Double]?) -> [CertifiedAccuracyReport.Point]? {
            radii.map { radii in
                epsilons.map { eps in
                    let flags = SampleFlags(zip(all.correct, radii).map { $0 && $1 >= Double(eps) })
                    return .init(epsilon: eps, certified: flags.trueCount, accuracy: Double(flags.trueCount) / Double(Swift.max(radii.count, 1)),
                                 flags: flags)
                }
            }
        }
        func median(_ r: [Double]) -> Double { Statistics.median(zip(all.correct, r).filter(\.0).map(\.1)) ?? 0 }
        return CertifiedAccuracyReport(
            samples: all.correct.count, lipschitz: lipschitz, curvature: curvature, estimatedLipschitz: estimatedLipschitz,
            lipschitzPoints: points(all.lipschitz)!, curvaturePoints: points(all.curvature), bestPoints: points(all.best)!,
            medianLipschitzRadius: median(all.lipschitz), medianCurvatureRadius: all.curvature.map(median))
    }
}

/// Certified ℓ2 accuracy per ε (`lcnn eval --certify`).
public struct CertifiedAccuracyReport: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        public var epsilon: Float
        public var certified: Int
        public var accuracy: Double
        /// Per sample (dataset order): correct and certified at ε.
        public var flags: SampleFlags?

        public init(epsilon: Float, certified: Int, accuracy: Double, flags: SampleFlags? = nil) {
            self.epsilon = epsilon
            self.certified = certified
            self.accuracy = accuracy
            self.flags = flags
        }
    }
    public var samples: Int
    /// The guaranteed bounds the certificates use.
    public var lipschitz: Double
    public var curvature: Double?
    public var estimatedLipschitz: Double
    public var lipschitzPoints: [Point]
    public var curvaturePoints: [Point]?
    /// The larger of the two radii per sample.
    public var bestPoints: [Point]
    /// Median certified radius over the correctly classified samples.
    public var medianLipschitzRadius: Double
    public var medianCurvatureRadius: Double?
}

extension CertifiedAccuracyReport.Point {
    /// The point restricted to the first `n` samples (nil without per-sample flags).
    public func prefix(_ n: Int) -> CertifiedAccuracyReport.Point? {
        guard let values = flags?.values, n <= values.count else { return nil }
        let kept = SampleFlags(Array(values.prefix(n)))
        return .init(epsilon: epsilon, certified: kept.trueCount, accuracy: n == 0 ? 0 : Double(kept.trueCount) / Double(n), flags: kept)
    }
}
