/// Shape arithmetic shared by the operations: element counts, contiguous strides,
/// broadcasting (NumPy rules) and axis normalisation.
public enum Shape {
    /// Number of elements of a tensor of this shape (1 for a scalar, shape `[]`).
    @inlinable public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major (C-order) strides of a contiguous tensor.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The broadcast of two shapes: dimensions are aligned from the right and each pair must be
    /// equal or contain a 1. Stops with a message naming `op` and both shapes otherwise.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da }
            else if da == 1 { out[i] = db }
            else { shapeMismatch(op, a, b, "cannot be broadcast together") }
        }
        return out
    }

    /// Strides that read a contiguous tensor of shape `shape` as if it had shape `target`
    /// (broadcast dimensions get stride 0).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        precondition(offset >= 0)
        var result = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[i + offset] == 1 {
            result[i + offset] = shape[i] == 1 ? 0 : own[i]
        }
        return result
    }

    /// Maps a possibly negative axis into `0..<rank`; stops with a message otherwise.
    public static func normalize(axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else {
            fatalError("\(op): axis \(axis) is out of range for a tensor of rank \(rank)")
        }
        return a
    }

    /// Normalised, sorted, de-duplicated axes; `nil` means every axis.
    public static func normalize(axes: [Int]?, rank: Int, op: String) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { normalize(axis: $0, rank: rank, op: op) })).sorted()
    }
}

/// Stops the program with a message that names the operation and both shapes.
public func shapeMismatch(_ op: String, _ a: [Int], _ b: [Int], _ why: String) -> Never {
    fatalError("\(op): shapes \(a) and \(b) \(why)")
}

/// Stops the program with a message that names the operation and the offending shape.
public func invalidShape(_ op: String, _ shape: [Int], _ why: String) -> Never {
    fatalError("\(op): shape \(shape) \(why)")
}
