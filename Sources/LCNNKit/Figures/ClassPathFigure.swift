import Foundation
import Plotting

/// Path-connectedness of class regions (SPEC V6; study `002` §2.2, Figures 5–6, after Fawzi et
/// al. 2018): a path between two inputs of the same predicted class that stays in that class,
/// drawn on its first two principal components, and the share of the path's variance each
/// principal component explains. A path whose first component explains nearly everything is
/// nearly straight.
public enum ClassPathFigure {
    public static func render(_ paths: [(label: String, path: ClassPath)], into directory: URL,
                              name: String = "class-path") throws -> FigureRecord {
        var projections: [Mark] = [], variances: [Mark] = [], findings: [String] = []
        for (i, entry) in paths.enumerated() {
            let color = Palette.color(i), p = entry.path
            let xs = p.projection.map(\.0), ys = p.projection.map(\.1)
            projections.append(.line(Line(xs: xs, ys: ys, color: color, width: 1.8, label: entry.label)))
            projections.append(.points(Points(xs: xs, ys: ys, colors: [color], radius: 2.5)))
            let ratios = p.explainedVarianceRatio
            // Components with no variance (a straight path has one) have no place on a log axis.
            let shown = ratios.enumerated().filter { $0.element > 1e-9 }
            let components = shown.map { Double($0.offset + 1) }, values = shown.map(\.element)
            variances.append(.line(Line(xs: components, ys: values, color: color, width: 1.5, label: entry.label)))
            variances.append(.points(Points(xs: components, ys: values, colors: [color], radius: 3)))
            findings.append("\(entry.label): \(p.pointCount) points (\(p.repairedMidpoints) repaired midpoints), "
                            + "max deviation from the straight line \(formatted(p.maxDeviationRatio)) × its length, "
                            + "first principal component explains \(percent(ratios.first ?? 1)) of the variance")
        }
        let panels = [
            Panel(title: "Path on its first two principal components", x: Axis("PC 1"), y: Axis("PC 2"),
                  marks: projections, legend: .topRight),
            Panel(title: "Explained variance per component", x: Axis("principal component"),
                  y: Axis("explained variance ratio", scale: .log10), marks: variances, legend: .topRight),
        ]
        return try FigureRecord(
            Figure(title: "A path inside one class region", panels: panels), name: name, in: directory,
            title: "Path-connectedness of a class region (study 002, Figures 5–6)",
            caption: "A path between two test inputs of the same predicted class found by recursive midpoint repair "
                + "(midpoints outside the class are pulled back by targeted gradient steps; every segment is checked "
                + "densely), projected on its first two principal components, and the explained-variance ratios.",
            findings: findings)
    }
}
