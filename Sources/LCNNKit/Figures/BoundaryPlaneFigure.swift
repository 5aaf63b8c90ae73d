import Foundation
import NN
import Plotting
import TensorCore

/// The decision boundary near one input (SPEC V4; study `002` §2.1.1, Figure 2, after
/// Moosavi-Dezfooli et al. 2019): the input's neighbourhood in the plane spanned by its
/// adversarial direction u (DeepFool) and a random direction v, coloured by predicted class;
/// the boundary traced along u for every v-offset, and a quadratic fitted to it near the input.
/// The fit's curvature at the input (κ, in 1/input-distance units) is the figure's number: a flat
/// boundary (κ ≈ 0) is what low-curvature training is meant to give.
public enum BoundaryPlaneFigure {
    /// One model's neighbourhood of the input.
    public struct Analysis {
        public let label: String
        public let plane: InputPlane
        public let grid: ClassGrid
        /// Boundary points (b along v, a along u) over the whole window.
        public let boundary: [(b: Double, a: Double)]
        /// The quadratic fitted to the boundary points with |b| ≤ half the window.
        public let fit: QuadraticBoundaryFit?
        /// Distance from the input to the boundary along u.
        public let distance: Double?
        public let originClass: Int
    }

    /// The distance from `plane.origin` to the boundary along u, searched up to `limit`.
    static func boundaryDistance(_ classifier: @escaping Classifier, plane: InputPlane, limit: Float) -> Double? {
        BoundaryTrace.trace(classifier, plane: plane, bValues: [0], maxDistance: limit, scanSteps: 256).first?.a
    }

    /// Builds each model's plane through `input` (one sample, shape [1, …]) and measures it on a
    /// `resolution`² grid over a ∈ [−r, r] (adversarial) and b ∈ [−s·r, s·r] (random, s =
    /// `randomScale`: the boundary bends over longer distances along a random direction than
    /// along the adversarial one, Moosavi-Dezfooli et al. 2019); r is `radius`, or twice the
    /// largest distance to a boundary among the models (so every boundary lies inside the window).
    public static func analyse(_ models: [(label: String, model: any Layer)], input: Tensor, radius: Float? = nil,
                               randomScale: Float = 5, resolution: Int = 121, seed: UInt64 = 0,
                               searchLimit: Float = 50) throws -> [Analysis] {
        let planes = try models.map { m -> (Classifier, InputPlane, Double?) in
            let classifier = inferenceClassifier(m.model)
            var g = SeededGenerator(seed: seed)   // the same random draw for v in every model's plane
            let plane = try InputPlane.adversarial(through: input, classifier: classifier, generator: &g)
            return (classifier, plane, boundaryDistance(classifier, plane: plane, limit: searchLimit))
        }
        let farthest = planes.compactMap(\.2).max() ?? 0.5
        let r = radius ?? Float(max(2 * farthest, 1e-3))
        return zip(models, planes).map { m, p in
            let (classifier, plane, distance) = p
            let w = r * randomScale
            let grid = plane.classify(classifier, a: -r...r, b: -w...w, columns: resolution, rows: resolution)
            let originClass = withoutGrad { classifier(input) }.argmax(axis: -1)[0]
            let bValues = linspace(Double(-w)...Double(w), count: 61).map(Float.init)
            let boundary = BoundaryTrace.trace(classifier, plane: plane, bValues: bValues, maxDistance: r)
            let central = boundary.filter { abs($0.b) <= Double(w) / 2 }
            let fit = try? QuadraticBoundaryFit.fit(central)
            return Analysis(label: m.label, plane: plane, grid: grid, boundary: boundary, fit: fit, distance: distance,
                            originClass: originClass)
        }
    }

    /// One panel per model: v horizontal, u (adversarial) vertical, input at the origin.
    public static func render(_ analyses: [Analysis], classNames: [String]? = nil, into directory: URL,
                              name: String = "boundary-plane") throws -> FigureRecord {
        var panels: [Panel] = [], findings: [String] = []
        for analysis in analyses {
            var marks: [Mark] = [.classRegions(analysis.grid.regions(swapAxes: true, classNames: classNames))]
            if !analysis.boundary.isEmpty {
                marks.append(.points(Points(xs: analysis.boundary.map(\.b), ys: analysis.boundary.map(\.a),
                                            colors: [RGB(40, 40, 40)], radius: 1.8, label: "boundary")))
            }
            if let fit = analysis.fit {
                let half = Double(analysis.grid.b.upperBound) / 2
                let bs = linspace(-half...half, count: 81)
                marks.append(.line(Line(xs: bs, ys: bs.map(fit.a(at:)), color: RGB(214, 39, 40), width: 2,
                                        label: "quadratic fit, κ = \(formatted(fit.curvature))")))
            }
            marks.append(.points(Points(xs: [0], ys: [0], colors: [RGB(0, 0, 0)], radius: 4, shape: .cross, label: "input")))
            panels.append(Panel(title: analysis.label, x: Axis("random direction v"), y: Axis("adversarial direction u"),
                                marks: marks, legend: .bottomRight))
            let className = classNames.flatMap { analysis.originClass < $0.count ? $0[analysis.originClass] : nil }
                ?? "class \(analysis.originClass)"
            var finding = "\(analysis.label): input predicted as \(className)"
            if let d = analysis.distance { finding += ", boundary at distance \(formatted(d)) along u" }
            if let fit = analysis.fit {
                finding += ", fitted curvature κ = \(formatted(fit.curvature)) (\(fit.pointCount) points, rms residual \(formatted(fit.rootMeanSquareResidual)))"
            } else {
                finding += ", too few boundary points in the window for a fit"
            }
            findings.append(finding)
        }
        return try FigureRecord(
            Figure(title: "Decision boundary near an input: adversarial × random direction", panels: panels,
                   columns: min(panels.count, 3)),
            name: name, in: directory, title: "Decision boundary near an input (study 002, Figure 2)",
            caption: "Predicted class on the plane through one test input spanned by its DeepFool direction u "
                + "(vertical) and a random direction v (horizontal, a wider range); black dots: the boundary found along u for each "
                + "offset along v; red: the quadratic a(b) = c2·b² + c1·b + c0 fitted to the central half, whose "
                + "curvature at b = 0 is κ = 2·c2/(1+c1²)^{3/2}.",
            findings: findings)
    }
}
