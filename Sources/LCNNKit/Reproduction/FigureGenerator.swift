import Foundation

/// A named producer of figures for a reproduction's report; when it throws, the report notes the
/// error under its name and the other generators still run.
public struct FigureGenerator {
    public var name: String
    public var make: (ReproductionOutcome) throws -> [FigureRecord]

    public init(name: String, make: @escaping (ReproductionOutcome) throws -> [FigureRecord]) {
        self.name = name
        self.make = make
    }
}

/// What the report shows for one figure generator: its figures, or its error.
public enum ReportFigureEntry: Sendable {
    case figure(FigureRecord)
    case failed(generator: String, error: String)
}
