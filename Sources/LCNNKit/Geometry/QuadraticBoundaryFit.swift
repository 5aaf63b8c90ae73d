/// SPEC V4: the second-order approximation of a decision boundary traced in an `InputPlane`
/// (study `002` §2.1.1, "displayed the associated second order approximation"; Moosavi-Dezfooli
/// et al. 2019 read robustness off this curvature: flatter boundaries, more robust models).
///
/// The boundary points (bᵢ, aᵢ) from `BoundaryTrace` are fitted by least squares with
///
///     a(b) = c₂·b² + c₁·b + c₀,
///
/// and the curvature of that curve at b = 0 is
///
///     κ = 2·c₂ / (1 + c₁²)^{3/2},
///
/// in inverse input-distance units (1/ℓ2 distance in input space; a circle of radius R has
/// |κ| = 1/R). Sign convention: a is measured from the origin along +u, towards the boundary, so
/// κ > 0 when the boundary bends away from the origin as |b| grows (a*(b) increases: the other
/// class's region is locally convex, the origin's class wraps around it), and κ < 0 when it bends
/// towards the origin (the origin's class region is locally convex, like the inside of a disc).
/// κ = 0 for a flat boundary.
///
/// The normal equations are solved in Double on centred and scaled abscissae t = (b − m)/s
/// (m the mean of b, s the largest |b − m|), by Gaussian elimination with partial pivoting, and
/// the coefficients are mapped back to b.
public struct QuadraticBoundaryFit: Sendable, Equatable, Codable {
    public let c2: Double
    public let c1: Double
    public let c0: Double
    /// κ = 2c₂/(1 + c₁²)^{3/2}, the signed curvature at b = 0 (see the sign convention above).
    public let curvature: Double
    /// √(mean of (aᵢ − a(bᵢ))²).
    public let rootMeanSquareResidual: Double
    public let pointCount: Int

    /// The fitted a at b.
    public func a(at b: Double) -> Double { (c2 * b + c1) * b + c0 }

    /// Least-squares fit of the points. Throws `GeometryError.tooFewBoundaryPoints` with fewer
    /// than 3 finite points or fewer than 3 distinct b values (then the quadratic is not
    /// determined; all b equal is the extreme case).
    public static func fit(_ points: [(b: Double, a: Double)]) throws(GeometryError) -> QuadraticBoundaryFit {
        let p = points.filter { $0.b.isFinite && $0.a.isFinite }
        guard p.count >= 3 else { throw .tooFewBoundaryPoints(p.count) }
        let distinct = Set(p.map(\.b)).count
        guard distinct >= 3 else { throw .tooFewBoundaryPoints(distinct) }
        let n = Double(p.count)
        let m = p.reduce(0) { $0 + $1.b } / n
        let s = p.reduce(0) { Swift.max($0, Swift.abs($1.b - m)) }   // > 0: three distinct b

        // Normal equations for a = d₂t² + d₁t + d₀: Σ tʲ⁺ᵏ dₖ = Σ tʲ a, j, k ∈ {0, 1, 2}.
        var powers = [Double](repeating: 0, count: 5), rhs = [Double](repeating: 0, count: 3)
        for q in p {
            let t = (q.b - m) / s
            var tk = 1.0
            for k in 0..<5 {
                powers[k] += tk
                if k < 3 { rhs[k] += tk * q.a }
                tk *= t
            }
        }
        var matrix = (0..<3).map { j in (0..<3).map { k in powers[j + k] } }
        guard let d = solve3(&matrix, rhs) else { throw .singularFit(points: p.count, distinctB: distinct) }

        // Back to b: t = (b − m)/s.
        let c2 = d[2] / (s * s)
        let c1 = d[1] / s - 2 * d[2] * m / (s * s)
        let c0 = d[2] * m * m / (s * s) - d[1] * m / s + d[0]
        let slope = 1 + c1 * c1
        let curvature = 2 * c2 / (slope * slope.squareRoot())   // 2c₂/(1 + c₁²)^{3/2}
        var sq: Double = 0
        for q in p {
            let t = (q.b - m) / s
            let r = q.a - ((d[2] * t + d[1]) * t + d[0])
            sq += r * r
        }
        return QuadraticBoundaryFit(c2: c2, c1: c1, c0: c0, curvature: curvature,
                                    rootMeanSquareResidual: (sq / n).squareRoot(), pointCount: p.count)
    }

    /// Solves the 3×3 system by Gaussian elimination with partial pivoting; nil when singular.
    static func solve3(_ a: inout [[Double]], _ b: [Double]) -> [Double]? {
        var b = b
        let scale = a.flatMap { $0 }.map(Swift.abs).max() ?? 0
        guard scale > 0 else { return nil }
        for col in 0..<3 {
            let pivot = (col..<3).max { Swift.abs(a[$0][col]) < Swift.abs(a[$1][col]) }!
            guard Swift.abs(a[pivot][col]) > 1e-12 * scale else { return nil }
            a.swapAt(col, pivot); b.swapAt(col, pivot)
            for row in (col + 1)..<3 {
                let f = a[row][col] / a[col][col]
                for k in col..<3 { a[row][k] -= f * a[col][k] }
                b[row] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: 3)
        for row in stride(from: 2, through: 0, by: -1) {
            var s = b[row]
            for k in (row + 1)..<3 { s -= a[row][k] * x[k] }
            x[row] = s / a[row][row]
        }
        return x
    }
}

