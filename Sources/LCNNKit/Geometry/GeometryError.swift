/// Why a geometry analysis (SPEC V4–V6) could not produce its result.
public enum GeometryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The two ends of a requested class path are predicted as different classes.
    case differentClasses(from: Int, to: Int)
    /// The class-path search gave up at this recursion depth, for the given reason.
    case pathNotFound(depth: Int, reason: String)
    /// A direction was zero, not finite, or parallel to another direction.
    case invalidDirection(String)
    /// Fewer boundary points than a quadratic fit needs (three, with at least three distinct b).
    case tooFewBoundaryPoints(Int)
    /// The least-squares system of the quadratic fit is numerically singular.
    case singularFit(points: Int, distinctB: Int)
    /// Tensors whose shapes do not fit together.
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case let .differentClasses(from, to):
            return "the two inputs are predicted as different classes (\(from) and \(to)); a class path needs two inputs of the same class"
        case let .pathNotFound(depth, reason):
            return "no path inside the class was found (recursion depth \(depth)): \(reason)"
        case let .invalidDirection(reason):
            return "invalid plane direction: \(reason)"
        case let .tooFewBoundaryPoints(count):
            return "a quadratic boundary fit needs at least 3 points with 3 distinct b values; got \(count) usable"
        case let .singularFit(points, distinct):
            return "the quadratic boundary fit is numerically singular (\(points) points, \(distinct) distinct b values): "
                + "the points do not determine a parabola"
        case let .shapeMismatch(reason):
            return "shape mismatch: \(reason)"
        }
    }
}
