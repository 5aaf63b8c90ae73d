import Foundation
import NN
import Plotting
import TensorCore

/// Decision regions on a random plane through one input (SPEC V5; study `002` §2.1.1, Figure 3):
/// the same input, the same two random directions and the same window for every model, so the
/// pictures compare. A regular model shows a few wide regions around the input; an irregular
/// one many small ones close to it.
public enum RegionsFigure {
    /// One model's grid on the common plane.
    public struct Analysis {
        public let label: String
        public let grid: ClassGrid
        public let originClass: Int
        /// Fraction of the window predicted as the input's class.
        public var originClassShare: Double { Double(grid.classCounts[originClass] ?? 0) / Double(grid.classes.count) }
    }

    /// Classifies a `resolution`² grid over a, b ∈ [−radius, radius] of one seeded random plane
    /// through `input` (one sample, shape [1, …]) for each model.
    public static func analyse(_ models: [(label: String, model: any Layer)], input: Tensor, radius: Float,
                               resolution: Int = 151, seed: UInt64 = 0) throws -> [Analysis] {
        var generator = SeededGenerator(seed: seed)
        let plane = try InputPlane.random(through: input, generator: &generator)
        return models.map { m in
            let classifier = inferenceClassifier(m.model)
            let grid = plane.classify(classifier, a: -radius...radius, b: -radius...radius, columns: resolution, rows: resolution)
            let originClass = withoutGrad { classifier(input) }.argmax(axis: -1)[0]
            return Analysis(label: m.label, grid: grid, originClass: originClass)
        }
    }

    /// How far the input's class reaches along the random plane: for each model the median of
    /// the distances at which the rays ±u, ±v leave the class (rays that stay in it up to `limit`
    /// count as `limit`), and the largest of these over the models.
    public static func rayDistance(_ models: [(label: String, model: any Layer)], input: Tensor, seed: UInt64 = 0,
                                   limit: Float = 100) throws -> Float {
        var generator = SeededGenerator(seed: seed)
        let plane = try InputPlane.random(through: input, generator: &generator)
        let rays = [(plane.u, plane.v), (-plane.u, plane.v), (plane.v, plane.u), (-plane.v, plane.u)]
        let distances = try models.map { m -> Float in
            let classifier = inferenceClassifier(m.model)
            let hits = try rays.map { u, v -> Float in
                let ray = try InputPlane(origin: input, u: u, v: v)
                return BoundaryTrace.trace(classifier, plane: ray, bValues: [0], maxDistance: limit, scanSteps: 200)
                    .first.map { Float($0.a) } ?? limit
            }.sorted()
            return (hits[1] + hits[2]) / 2
        }
        return max(distances.max() ?? 1, 1e-3)
    }

    public static func render(_ analyses: [Analysis], classNames: [String]? = nil, into directory: URL,
                              name: String = "regions") throws -> FigureRecord {
        var panels: [Panel] = [], findings: [String] = []
        for analysis in analyses {
            panels.append(Panel(
                title: analysis.label, x: Axis("random direction 1"), y: Axis("random direction 2"),
                marks: [.classRegions(analysis.grid.regions(classNames: classNames)),
                        .points(Points(xs: [0], ys: [0], colors: [RGB(0, 0, 0)], radius: 4, shape: .cross, label: "input"))],
                legend: .none, equalAspect: true))
            findings.append("\(analysis.label): \(analysis.grid.classCounts.count) classes in the window, "
                            + "\(analysis.grid.connectedRegionCount) connected regions, "
                            + "\(percent(analysis.originClassShare)) of it predicted as the input's class")
        }
        let radius = analyses.first.map { Double($0.grid.a.upperBound) } ?? 0
        return try FigureRecord(
            Figure(title: "Decision regions on a random plane through an input", panels: panels, columns: min(panels.count, 3)),
            name: name, in: directory, title: "Decision regions around an input (study 002, Figure 3)",
            caption: "Predicted class on one random plane through a test input (cross), a, b ∈ [−\(formatted(radius)), "
                + "\(formatted(radius))] in input units, the same plane for every model.",
            findings: findings)
    }
}
