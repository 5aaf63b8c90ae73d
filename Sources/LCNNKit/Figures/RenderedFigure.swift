import Foundation
import NN
import Plotting
import TensorCore

/// A figure written to disk (`name.svg` and `name.png`) with what it shows in words: a caption
/// and the measured statements a report quotes next to it.
public struct RenderedFigure: Sendable {
    public let name: String
    public let title: String
    public let caption: String
    public let svg: URL
    public let png: URL
    /// Measured statements, e.g. the fitted boundary curvature of each model.
    public let findings: [String]

    /// Writes `figure` into `directory` as `name.svg` and `name.png`.
    public init(_ figure: Figure, name: String, in directory: URL, title: String, caption: String,
                findings: [String]) throws {
        let files = try figure.write(to: directory, name: name)
        self.name = name
        self.title = title
        self.caption = caption
        svg = files.svg
        png = files.png
        self.findings = findings
    }
}

/// The classifier view of a model: logits of a batch, evaluated in inference mode.
public func inferenceClassifier(_ model: any Layer) -> Classifier {
    { x in inference { model(x) } }
}

extension ClassGrid {
    /// The grid as plot cells: x = the plane's a coordinate, y = b (or swapped with
    /// `swapAxes`, which puts a on the vertical axis).
    func regions(swapAxes: Bool = false, classNames: [String]? = nil) -> ClassRegions {
        guard swapAxes else {
            return ClassRegions(columns: columns, rows: rows, classes: classes,
                                x: Double(a.lowerBound)...Double(a.upperBound),
                                y: Double(b.lowerBound)...Double(b.upperBound), classNames: classNames)
        }
        var swapped = [Int](repeating: 0, count: classes.count)
        for aIndex in 0..<columns {
            for bIndex in 0..<rows { swapped[aIndex * rows + bIndex] = classAt(column: aIndex, row: bIndex) }
        }
        return ClassRegions(columns: rows, rows: columns, classes: swapped,
                            x: Double(b.lowerBound)...Double(b.upperBound),
                            y: Double(a.lowerBound)...Double(a.upperBound), classNames: classNames)
    }

    /// The number of connected pieces the classes cut the grid into (4-neighbour connectivity):
    /// one per class for a clean partition, more when a class's region is broken into islands.
    public var connectedRegionCount: Int {
        var seen = [Bool](repeating: false, count: classes.count)
        var count = 0, stack: [Int] = []
        for start in classes.indices where !seen[start] {
            count += 1
            seen[start] = true
            stack.append(start)
            while let cell = stack.popLast() {
                let column = cell % columns, row = cell / columns
                for (dc, dr) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let c = column + dc, r = row + dr
                    guard c >= 0, c < columns, r >= 0, r < rows else { continue }
                    let next = r * columns + c
                    if !seen[next] && classes[next] == classes[cell] { seen[next] = true; stack.append(next) }
                }
            }
        }
        return count
    }
}

/// Evenly spaced values from `range.lowerBound` to `range.upperBound` inclusive.
func linspace(_ range: ClosedRange<Double>, count: Int) -> [Double] {
    guard count > 1 else { return [range.lowerBound] }
    let step = (range.upperBound - range.lowerBound) / Double(count - 1)
    return (0..<count).map { range.lowerBound + Double($0) * step }
}

/// `value` with `digits` significant digits, for captions and findings.
func formatted(_ value: Double, digits: Int = 3) -> String {
    guard value.isFinite else { return "\(value)" }
    return String(format: "%.\(digits)g", value)
}
