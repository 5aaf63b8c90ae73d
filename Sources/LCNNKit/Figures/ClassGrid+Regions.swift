import Plotting

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
}
