import Foundation

/// A figure embedded in `report.md`: the paper's Figures 1 and 2 and the pictures of `002`
/// (V1–V6), made by the figure generators (`lcnn moons`, `lcnn plot …`) from a reproduction's
/// checkpoints.
public struct ReportFigure: Sendable, Codable, Equatable {
    public var title: String
    public var caption: String
    /// The PNG, as a path relative to `report.md`.
    public var png: String
    /// The SVG, as a path relative to `report.md`.
    public var svg: String
    /// The exact shell command that regenerates the figure.
    public var command: String
    /// Measured statements read off the figure's data (e.g. the fitted boundary curvature per model).
    public var findings: [String]

    public init(title: String, caption: String, png: String, svg: String, command: String, findings: [String] = []) {
        self.title = title
        self.caption = caption
        self.png = png
        self.svg = svg
        self.command = command
        self.findings = findings
    }
}

/// A named producer of figures for a reproduction's report; when it throws, the report notes the
/// error under its name and the other generators still run.
public struct FigureGenerator {
    public var name: String
    public var make: (ReproductionOutcome) throws -> [ReportFigure]

    public init(name: String, make: @escaping (ReproductionOutcome) throws -> [ReportFigure]) {
        self.name = name
        self.make = make
    }
}

/// What the report shows for one figure generator: its figures, or its error.
public enum ReportFigureEntry: Sendable {
    case figure(ReportFigure)
    case failed(generator: String, error: String)
}
