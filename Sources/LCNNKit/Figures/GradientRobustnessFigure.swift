import Foundation
import Plotting

/// Figure 2 of the paper (SPEC V3, G5): how much the input gradient moves under random noise,
/// `‖∇ℓ(x+ε) − ∇ℓ(x)‖ / ‖∇ℓ(x)‖` against `‖ε‖`, per model, on log–log axes, next to its
/// first-order theory line `‖ε‖·C(x)` (C the mean normalised curvature, paper §5.2). A model whose
/// curve lies lower has more stable gradients; a curve that follows its line shows the
/// curvature measured by power iteration predicts the gradient's change.
public enum GradientRobustnessFigure {
    /// One model's measured levels (from ``CurvatureSummary/robustness``).
    public struct Curve: Sendable {
        public var label: String
        public var levels: [GradientRobustness.Level]
        public init(label: String, levels: [GradientRobustness.Level]) {
            self.label = label
            self.levels = levels
        }
    }

    public static func render(_ curves: [Curve], into directory: URL, name: String = "gradient-robustness") throws -> FigureRecord {
        var marks: [Mark] = [], findings: [String] = []
        for (i, curve) in curves.enumerated() {
            let color = Palette.color(i)
            let xs = curve.levels.map(\.noiseNorm), means = curve.levels.map(\.ratio.mean)
            let floor = (means.filter { $0 > 0 }.min() ?? 1e-12) / 10
            marks.append(.band(Band(xs: xs, lower: curve.levels.map { max($0.ratio.mean - $0.ratio.std, floor) },
                                    upper: curve.levels.map { $0.ratio.mean + $0.ratio.std }, color: color, opacity: 0.15)))
            marks.append(.line(Line(xs: xs, ys: means, color: color, width: 2, label: curve.label)))
            marks.append(.points(Points(xs: xs, ys: means, colors: [color], radius: 3)))
            marks.append(.line(Line(xs: xs, ys: curve.levels.map(\.theory), color: color, width: 1.2, style: .dashed,
                                    label: "\(curve.label): ‖ε‖·C")))
            if let last = curve.levels.last {
                findings.append("\(curve.label): at ‖ε‖ = \(formatted(last.noiseNorm)) the gradient moves by "
                                + "\(formatted(last.ratio.mean)) ± \(formatted(last.ratio.std)) of its norm (theory \(formatted(last.theory)))")
            }
        }
        let panel = Panel(title: "Gradient robustness under random noise",
                          x: Axis("noise norm ‖ε‖₂", scale: .log10),
                          y: Axis("‖∇ℓ(x+ε) − ∇ℓ(x)‖ / ‖∇ℓ(x)‖", scale: .log10),
                          marks: marks, legend: .bottomRight)
        return try FigureRecord(
            Figure(panels: [panel], panelWidth: 560, panelHeight: 420), name: name, in: directory,
            title: "Figure 2: gradient robustness",
            caption: "Relative change of the input gradient under random noise of growing norm (solid, mean ± std band) "
                + "and the first-order prediction ‖ε‖·C(x) from the measured normalised curvature (dashed).",
            findings: findings)
    }
}
