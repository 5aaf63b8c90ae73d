/// Predicted classes on a regular grid of an `InputPlane` (SPEC V4, V5; study `002` §2.1.1,
/// Figures 2 and 3): `columns` values of a (along u) times `rows` values of b (along v),
/// row-major (`classes[row·columns + column]`), row 0 at `b.lowerBound`, column 0 at `a.lowerBound`.
public struct ClassGrid: Sendable, Equatable, Codable {
    public let columns: Int
    public let rows: Int
    public let a: ClosedRange<Float>
    public let b: ClosedRange<Float>
    public let classes: [Int]

    public init(columns: Int, rows: Int, a: ClosedRange<Float>, b: ClosedRange<Float>, classes: [Int]) {
        precondition(columns >= 1 && rows >= 1, "ClassGrid: at least one column and one row")
        precondition(classes.isEmpty || classes.count == columns * rows, "ClassGrid: classes must hold columns × rows entries")
        self.columns = columns
        self.rows = rows
        self.a = a
        self.b = b
        self.classes = classes
    }

    /// a at a column: `a.lowerBound + (a.upperBound − a.lowerBound)·column/(columns − 1)`.
    public func aValue(column: Int) -> Float { Self.value(a, column, columns) }

    /// b at a row: `b.lowerBound + (b.upperBound − b.lowerBound)·row/(rows − 1)`.
    public func bValue(row: Int) -> Float { Self.value(b, row, rows) }

    public func classAt(column: Int, row: Int) -> Int {
        precondition((0..<columns).contains(column) && (0..<rows).contains(row), "ClassGrid: (\(column), \(row)) is outside the grid")
        return classes[row * columns + column]
    }

    /// How many grid points each class takes.
    public var classCounts: [Int: Int] { classes.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

    static func value(_ range: ClosedRange<Float>, _ index: Int, _ count: Int) -> Float {
        guard count > 1 else { return range.lowerBound }
        if index == count - 1 { return range.upperBound }
        return range.lowerBound + (range.upperBound - range.lowerBound) * Float(index) / Float(count - 1)
    }
}

extension ClassGrid {
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
