import Datasets
import Foundation
import Plotting
import TensorCore

/// Figure 1a/b of the paper (SPEC V1): the decision regions of each two-moons model over the
/// plane, with the training points it saw coloured by their (possibly flipped) labels. One row
/// per label-noise level, one column per method.
public enum DecisionBoundaryFigure {
    /// The class of every cell of a `resolution`-wide grid over the data's bounding box (with a
    /// margin), for one model.
    public static func grid(of run: MoonsExperiment.TrainedRun, x: ClosedRange<Float>, y: ClosedRange<Float>,
                            resolution: Int) throws -> ClassGrid {
        let plane = try InputPlane(origin: Tensor([0, 0], shape: [1, 2]), u: Tensor([1, 0], shape: [1, 2]),
                                   v: Tensor([0, 1], shape: [1, 2]))
        let rows = max(2, Int((Float(resolution) * (y.upperBound - y.lowerBound) / (x.upperBound - x.lowerBound)).rounded()))
        return plane.classify(inferenceClassifier(run.model), a: x, b: y, columns: resolution, rows: rows)
    }

    /// The plotted window: the bounding box of all training points, widened by `margin`.
    public static func window(_ runs: [MoonsExperiment.TrainedRun], margin: Float = 0.4) -> (x: ClosedRange<Float>, y: ClosedRange<Float>) {
        var lo = [Float.infinity, .infinity], hi = [-Float.infinity, -.infinity]
        for run in runs {
            let p = run.train.images.scalars
            for i in stride(from: 0, to: p.count, by: 2) {
                for d in 0..<2 { lo[d] = min(lo[d], p[i + d]); hi[d] = max(hi[d], p[i + d]) }
            }
        }
        return ((lo[0] - margin)...(hi[0] + margin), (lo[1] - margin)...(hi[1] + margin))
    }

    /// Draws the figure and states, per model, its accuracies and how many connected regions its
    /// classes cut the window into (2 for a clean boundary between the moons).
    public static func render(_ runs: [MoonsExperiment.TrainedRun], into directory: URL, name: String = "moons",
                              resolution: Int = 240) throws -> FigureRecord {
        let (xWindow, yWindow) = window(runs)
        var panels: [Panel] = [], findings: [String] = []
        for run in runs {
            let grid = try grid(of: run, x: xWindow, y: yWindow, resolution: resolution)
            let points = run.train.images.scalars
            let xs = stride(from: 0, to: points.count, by: 2).map { Double(points[$0]) }
            let ys = stride(from: 1, to: points.count, by: 2).map { Double(points[$0]) }
            let noise = run.run.labelNoise > 0 ? "\(Int((run.run.labelNoise * 100).rounded()))% flipped labels" : "clean labels"
            panels.append(Panel(
                title: "\(run.run.method.displayName), \(noise)",
                x: Axis("x1"), y: Axis("x2"),
                marks: [.classRegions(grid.regions()),
                        .points(Points(xs: xs, ys: ys, colors: run.train.labels.map(Palette.color), radius: 2.2,
                                       outline: RGB(255, 255, 255)))],
                legend: .none, equalAspect: true))
            findings.append("\(run.run.method.displayName) with \(noise): train accuracy \(percent(run.trainAccuracy)), "
                            + "test accuracy \(percent(run.testAccuracy)), \(grid.connectedRegionCount) connected class regions")
        }
        let methods = Set(runs.map(\.run.method)).count
        let penalty = runs.first { $0.run.method.usesLCNNPenalty }?.run.config.objective.penalty
        let figure = Figure(title: "Two moons: decision regions of Standard and LCNN models", panels: panels,
                            columns: max(1, methods), panelWidth: 420, panelHeight: 330)
        return try FigureRecord(
            figure, name: name, in: directory, title: "Figure 1a/b: two-moons decision boundaries",
            caption: "Decision regions of each model over the plane with the training points (coloured by their "
                + "training label; flipped labels show as points of the other colour). Standard: softplus β = 1000; "
                + "LCNN: centered softplus with learnable β, spectral norm and γ-Lipschitz batch norm"
                + (penalty.map { String(format: ", penalty λβ = %g, λγ = %g", $0.betaWeight, $0.gammaWeight) } ?? "") + ".",
            findings: findings)
    }
}

/// `0.9733` as `97.3%`.
func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }
