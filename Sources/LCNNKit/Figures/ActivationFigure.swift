import Foundation
import NN
import Plotting
import TensorCore

/// Figure 1c of the paper (SPEC V2): softplus `s(x;β) = log(1+e^{βx})/β` against centered
/// softplus `s0(x;β) = (log(1+e^{βx}) − log 2)/β` (paper §3.3, eq. 4), and the parametric swish
/// `x·σ(βx)` of the MNIST reproduction (`000`), for several β. Both softplus forms approach ReLU
/// as β grows; as β → 0 softplus diverges (s(0;β) = log 2/β) while centered softplus tends to
/// x/2 and stays at the origin. Curves are computed by the toolkit's own activation layers.
public enum ActivationFigure {
    public static let defaultBetas: [Float] = [0.5, 1, 2, 5, 20]

    /// The values of `layer` at `xs`.
    static func evaluate(_ layer: any Layer, at xs: [Double]) -> [Double] {
        let out = withoutGrad { inference { layer(Tensor(xs.map(Float.init), shape: [xs.count, 1])) } }
        return out.scalars.map(Double.init)
    }

    /// One panel per activation family over x ∈ `range`, one line per β, ReLU dashed.
    public static func render(betas: [Float] = defaultBetas, range: ClosedRange<Double> = -3...3,
                              into directory: URL, name: String = "activations") throws -> FigureRecord {
        let xs = linspace(range, count: 241)
        let relu = Line(xs: xs, ys: xs.map { max($0, 0) }, color: RGB(0, 0, 0), width: 1, style: .dashed, label: "ReLU")
        func panel(_ title: String, _ make: (Float) -> any Layer) -> Panel {
            let lines = betas.enumerated().map { i, beta in
                Mark.line(Line(xs: xs, ys: evaluate(make(beta), at: xs), color: Palette.color(i), width: 1.8,
                               label: "β = \(formatted(Double(beta)))"))
            }
            return Panel(title: title, x: Axis("x"), y: Axis("activation", limits: -1.5...3.5),
                         marks: lines + [.line(relu)], legend: .topLeft)
        }
        let panels = [
            panel("softplus  log(1+exp(βx))/β") { Softplus(beta: $0) },
            panel("centered softplus  (log(1+exp(βx)) − log 2)/β") { CenteredSoftplus(initialBeta: $0) },
            panel("parametric swish  x·σ(βx)") { ParametricSwish(initialBeta: $0) },
        ]
        let smallest = betas.min() ?? 1
        let atZero = evaluate(Softplus(beta: smallest), at: [0])[0]
        let centeredAtZero = evaluate(CenteredSoftplus(initialBeta: smallest), at: [0])[0]
        return try FigureRecord(
            Figure(title: "Softplus, centered softplus and parametric swish for several β", panels: panels),
            name: name, in: directory, title: "Figure 1c: softplus vs centered softplus",
            caption: "Each activation for β ∈ {\(betas.map { formatted(Double($0)) }.joined(separator: ", "))}; "
                + "ReLU dashed. Centered softplus passes through the origin for every β; softplus does not.",
            findings: ["at x = 0 and β = \(formatted(Double(smallest))): softplus = \(formatted(atZero)), "
                       + "centered softplus = \(formatted(centeredAtZero))"])
    }
}
