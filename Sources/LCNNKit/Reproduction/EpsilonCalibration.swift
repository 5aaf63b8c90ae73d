import Datasets
import Foundation
import NN

/// The ε grid of a robustness comparison, set from the data (SPEC S2).
///
/// The paper's ℓ2 grid {0.05, 0.1, 0.15, 0.2} on CIFAR-100 is where its Standard ResNet-18
/// keeps 77 %, 49 %, 30 % and 21 % of its clean accuracy (Table 2: 59.97, 37.55, 23.41, 16.11 of
/// 77.42): the middle radius 0.1 roughly halves it. The same radii on 28×28 images barely bite,
/// so every comparison there sits inside sampling noise. The rule: sweep ε geometrically on the
/// trained Standard model, find ε½, the radius at which Standard keeps half of its clean
/// accuracy (log-linear interpolation between the two sweep points around it), and use the
/// paper's proportions ε½·{½, 1, 1½, 2}, rounded to two significant digits. The claims use the
/// grid's second point, the analogue of the paper's ε = 0.1, and adversarial training uses it
/// as its training radius, as the paper trains at 0.1. The same rule sets the FGSM (ℓ∞) grid.
/// The sweep runs on test samples after the ones the tables measure, so the radii are not
/// chosen on the measured samples.
public struct EpsilonCalibration: Codable, Sendable, Equatable {
    /// One sweep point: robust accuracy at ε.
    public struct Point: Codable, Sendable, Equatable {
        public var epsilon: Float
        public var robustAccuracy: Double

        public init(epsilon: Float, robustAccuracy: Double) {
            self.epsilon = epsilon
            self.robustAccuracy = robustAccuracy
        }
    }

    public var attack: AttackKind
    public var cleanAccuracy: Double
    public var sweep: [Point]
    /// The radius where robust accuracy falls to half the clean accuracy (nil if the sweep never got there).
    public var halfRadius: Float?
    /// The chosen grid (the paper's when the sweep failed).
    public var grid: [Float]
    public var samples: Int

    /// The paper's proportions of its middle radius: 0.05, 0.1, 0.15, 0.2 = 0.1·{½, 1, 1½, 2}.
    public static let proportions: [Float] = [0.5, 1, 1.5, 2]

    /// The sweep radii: `start`·√2^k up to `stop`.
    public static func sweepRadii(start: Float, stop: Float) -> [Float] {
        var radii: [Float] = []
        var e = start
        while e <= stop * 1.0001 { radii.append(e); e *= Float(2).squareRoot() }
        return radii
    }

    /// ε½ from a sweep (increasing ε): the first crossing of half the clean accuracy,
    /// interpolated linearly in log ε; nil when robust accuracy never falls to half.
    public static func halfRadius(_ sweep: [Point], cleanAccuracy: Double) -> Float? {
        let target = cleanAccuracy / 2
        guard cleanAccuracy > 0 else { return nil }
        var previous: Point?
        for p in sweep.sorted(by: { $0.epsilon < $1.epsilon }) {
            if p.robustAccuracy <= target {
                guard let q = previous, q.robustAccuracy > target else { return p.epsilon }
                let t = (q.robustAccuracy - target) / (q.robustAccuracy - p.robustAccuracy)
                let logE = Double(Foundation.log(q.epsilon)) + t * Double(Foundation.log(p.epsilon) - Foundation.log(q.epsilon))
                return Float(Foundation.exp(logE))
            }
            previous = p
        }
        return nil
    }

    /// The grid ε½·{½, 1, 1½, 2}, each rounded to two significant digits.
    public static func grid(halfRadius: Float) -> [Float] {
        proportions.map { roundedToTwoDigits($0 * halfRadius) }
    }

    static func roundedToTwoDigits(_ x: Float) -> Float {
        guard x > 0, x.isFinite else { return x }
        let scale = Foundation.pow(10, Foundation.floor(Foundation.log10(Double(x))) - 1)
        return Float((Double(x) / scale).rounded() * scale)
    }

    /// Sweeps `attack` on `model` over `dataset` and applies the rule.
    public static func calibrate(model: any Layer, dataset: Dataset, attack: AttackKind, radii: [Float],
                                 options: AttackOptions, batchSize: Int, seed: UInt64,
                                 fallback: [Float]) -> EpsilonCalibration {
        let report = robustAccuracy(model: model, dataset: dataset, attack: attack, epsilons: radii, options: options,
                                    batchSize: batchSize, seed: seed)
        let sweep = report.points.map { Point(epsilon: $0.epsilon, robustAccuracy: $0.robustAccuracy) }
        let half = halfRadius(sweep, cleanAccuracy: report.cleanAccuracy)
        return EpsilonCalibration(attack: attack, cleanAccuracy: report.cleanAccuracy, sweep: sweep, halfRadius: half,
                                  grid: half.map { grid(halfRadius: $0) } ?? fallback, samples: report.samples)
    }

    /// The sweep and the chosen grid as Markdown.
    public var markdown: String {
        var text = "\(attack.rawValue) on \(samples) test samples after the measured ones; clean accuracy "
            + String(format: "%.2f%%", 100 * cleanAccuracy) + ".\n\n| ε | robust accuracy | ÷ clean |\n|---:|---:|---:|\n"
        for p in sweep {
            text += String(format: "| %.3g | %.2f%% | %.2f |\n", p.epsilon, 100 * p.robustAccuracy,
                           cleanAccuracy > 0 ? p.robustAccuracy / cleanAccuracy : 0)
        }
        if let halfRadius {
            text += String(format: "\nε½ = %.4g → grid ", halfRadius) + grid.map { String(format: "%g", $0) }.joined(separator: ", ") + "\n"
        } else {
            text += "\nRobust accuracy never fell to half the clean accuracy in the sweep: the paper's grid "
                + grid.map { String(format: "%g", $0) }.joined(separator: ", ") + " is kept.\n"
        }
        return text
    }
}
