import TensorCore

/// A 2-D affine slice of input space through one input (SPEC V4, V5):
///
///     x(a, b) = origin + a·u + b·v,   ‖u‖₂ = ‖v‖₂ = 1,   ⟨u, v⟩ = 0,
///
/// so (a, b) are ℓ2 distances in input space along the two directions. Study `002` §2.1.1
/// (after Moosavi-Dezfooli et al. 2019, "Robustness via curvature regularization, and vice
/// versa") draws decision boundaries in such planes: with u the adversarial direction and v
/// random (their Figure 2, `adversarial(through:classifier:generator:)`), and with two random
/// directions (their Figure 3, `random(through:generator:)`).
public struct InputPlane: Sendable {
    /// The sample the plane passes through, shape `[1, …]`.
    public let origin: Tensor
    /// The first direction (for V4 the adversarial direction), shape of `origin`, ‖u‖₂ = 1.
    public let u: Tensor
    /// The second direction, orthogonal to `u`, ‖v‖₂ = 1.
    public let v: Tensor

    let originValues: [Float]
    let uValues: [Float]
    let vValues: [Float]

    /// The shape of one sample (the origin's shape without its batch axis).
    public var sampleShape: [Int] { Array(origin.shape.dropFirst()) }

    /// A plane through `origin` (shape `[1, …]`) spanned by `u` and `v` (either shape `[1, …]` or
    /// the sample shape, with as many values as the origin). `u` is scaled to unit ℓ2 norm and `v`
    /// is Gram–Schmidt-orthonormalised against it, v ← (v − ⟨v, u⟩u)/‖v − ⟨v, u⟩u‖ (in Double).
    /// Throws `GeometryError.shapeMismatch` for an origin that is not one sample or directions of
    /// another size, and `.invalidDirection` for a zero or non-finite u, or a v (numerically)
    /// parallel to u (its orthogonal part below 10⁻⁶ of its norm).
    public init(origin: Tensor, u: Tensor, v: Tensor) throws(GeometryError) {
        guard origin.rank >= 2, origin.shape[0] == 1 else {
            throw .shapeMismatch("the origin must be one sample of shape [1, …], not \(origin.shape)")
        }
        guard u.count == origin.count, v.count == origin.count else {
            throw .shapeMismatch("directions of shapes \(u.shape) and \(v.shape) do not match the origin's shape \(origin.shape)")
        }
        let x = origin.scalars, uRaw = u.scalars.map(Double.init), vRaw = v.scalars.map(Double.init)
        guard x.allSatisfy(\.isFinite) else { throw .invalidDirection("the origin has non-finite values") }
        guard uRaw.allSatisfy(\.isFinite), vRaw.allSatisfy(\.isFinite) else {
            throw .invalidDirection("a direction has non-finite values")
        }
        let uNorm = uRaw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard uNorm > 0 else { throw .invalidDirection("u is zero") }
        let uUnit = uRaw.map { $0 / uNorm }
        let vNorm = vRaw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard vNorm > 0 else { throw .invalidDirection("v is zero") }
        var vPerp = vRaw
        for _ in 0..<2 {   // twice, for orthogonality to rounding error
            let p = zip(vPerp, uUnit).reduce(0) { $0 + $1.0 * $1.1 }
            for i in vPerp.indices { vPerp[i] -= p * uUnit[i] }
        }
        let perpNorm = vPerp.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard perpNorm > 1e-6 * vNorm else { throw .invalidDirection("v is parallel to u") }
        originValues = x
        uValues = uUnit.map { Float($0) }
        vValues = vPerp.map { Float($0 / perpNorm) }
        self.origin = Tensor(x, shape: origin.shape)
        self.u = Tensor(uValues, shape: origin.shape)
        self.v = Tensor(vValues, shape: origin.shape)
    }

    /// The points `origin + a·u + b·v` for the given coordinates, as a batch `[n, …]`.
    public func points(_ coordinates: [(a: Float, b: Float)]) -> Tensor {
        Tensor(rows(coordinates), shape: [coordinates.count] + sampleShape)
    }

    /// The points as flat rows (n·D values).
    func rows(_ coordinates: [(a: Float, b: Float)], clampTo range: ClosedRange<Float>? = nil) -> [Float] {
        let d = originValues.count
        var out = [Float](repeating: 0, count: coordinates.count * d)
        for (i, c) in coordinates.enumerated() {
            for j in 0..<d { out[i * d + j] = originValues[j] + c.a * uValues[j] + c.b * vValues[j] }
        }
        return FlatVector.clamped(out, to: range)
    }

    /// SPEC V4 (study `002` §2.1.1; Moosavi-Dezfooli et al. 2019, Figure 2 of the study): the
    /// plane through `x` (one sample, `[1, …]`) whose first direction is the direction of the
    /// smallest perturbation that changes the predicted label, and whose second is random.
    ///
    /// u = δ/‖δ‖ with δ = x_adv − x from ℓ2 DeepFool (overshoot 0.02, ≤ 50 steps, clipped to
    /// `inputRange`, none by default so the direction is that of the unconstrained classifier).
    /// If DeepFool does not change the label, u is the normalised input gradient of the
    /// cross-entropy at the predicted label, ∇ₓℓ(x, ŷ)/‖∇ₓℓ(x, ŷ)‖ (the linearised direction
    /// towards the boundary). v is a seeded standard Gaussian direction made orthonormal to u;
    /// a new one is drawn (up to 8 times) in the unlikely case that it is parallel to u.
    /// Throws `.invalidDirection` if both DeepFool and the gradient give a zero direction, or the
    /// input has a single value (no plane).
    public static func adversarial(through x: Tensor, classifier: @escaping Classifier,
                                   generator: inout SeededGenerator,
                                   inputRange: ClosedRange<Float>? = nil) throws(GeometryError) -> InputPlane {
        try checkOneSample(x)
        let result = DeepFool(inputRange: inputRange).attack(classifier, x)
        var direction = withoutGrad { result.adversarial - x }
        if !result.succeeded[0] || !(result.perturbationNorms[0] > 0) {
            direction = inputGradient(of: classifier, at: x, labels: result.originalLabels).gradient
        }
        guard direction.scalars.contains(where: { $0 != 0 }) else {
            throw .invalidDirection("DeepFool and the input gradient both give a zero direction")
        }
        return try withRandomSecond(origin: x, u: direction, generator: &generator)
    }

    /// SPEC V5 (study `002` §2.1.1, Figure 3 of the study): the plane through `x` (one sample,
    /// `[1, …]`) spanned by two seeded standard Gaussian directions, orthonormalised.
    public static func random(through x: Tensor, generator: inout SeededGenerator) throws(GeometryError) -> InputPlane {
        try checkOneSample(x)
        var lastError = GeometryError.invalidDirection("no non-zero random direction drawn")
        for _ in 0..<8 {
            let u = Tensor.normal(x.shape, generator: &generator)
            do { return try withRandomSecond(origin: x, u: u, generator: &generator) } catch { lastError = error }
        }
        throw lastError
    }

    static func checkOneSample(_ x: Tensor) throws(GeometryError) {
        guard x.rank >= 2, x.shape[0] == 1 else {
            throw .shapeMismatch("a plane goes through one sample of shape [1, …], not \(x.shape)")
        }
        guard x.count >= 2 else { throw .invalidDirection("a one-dimensional input has no 2-D plane") }
    }

    /// The plane with first direction u and a Gaussian second direction (redrawn if parallel).
    static func withRandomSecond(origin: Tensor, u: Tensor, generator: inout SeededGenerator) throws(GeometryError) -> InputPlane {
        var lastError = GeometryError.invalidDirection("v is parallel to u")
        for _ in 0..<8 {
            let v = Tensor.normal(origin.shape, generator: &generator)
            do { return try InputPlane(origin: origin, u: u, v: v) } catch {
                lastError = error
                if case .invalidDirection(let m) = error, m == "v is parallel to u" || m == "v is zero" { continue }
                throw error
            }
        }
        throw lastError
    }

    /// The predicted class at every point of a `columns × rows` grid over `a ∈ aRange`,
    /// `b ∈ bRange` (evenly spaced, both ends included; a single column/row sits at the lower
    /// bound). Row-major: entry `row·columns + column`, row 0 at `bRange.lowerBound`, column 0
    /// at `aRange.lowerBound`. Evaluated in batches of `batchSize` with recording off. Points are
    /// not clipped to the input range unless `clampTo` is given (then each coordinate is clamped).
    public func classify(_ classifier: Classifier, a aRange: ClosedRange<Float>, b bRange: ClosedRange<Float>,
                         columns: Int, rows: Int, batchSize: Int = 256, clampTo: ClosedRange<Float>? = nil) -> ClassGrid {
        precondition(columns >= 1 && rows >= 1, "classify: the grid needs at least one column and one row")
        precondition(batchSize >= 1, "classify: batchSize must be at least 1")
        let shape = ClassGrid(columns: columns, rows: rows, a: aRange, b: bRange, classes: [])
        var coordinates: [(a: Float, b: Float)] = []
        coordinates.reserveCapacity(columns * rows)
        for r in 0..<rows { for c in 0..<columns { coordinates.append((shape.aValue(column: c), shape.bValue(row: r))) } }
        // Build the rows batch by batch so memory stays at one batch of points.
        var classes: [Int] = []
        classes.reserveCapacity(coordinates.count)
        var start = 0
        while start < coordinates.count {
            let end = Swift.min(coordinates.count, start + batchSize)
            classes += BatchedPrediction.classes(classifier, rows: self.rows(Array(coordinates[start..<end]), clampTo: clampTo),
                                                 sampleShape: sampleShape, batchSize: batchSize)
            start = end
        }
        return ClassGrid(columns: columns, rows: rows, a: aRange, b: bRange, classes: classes)
    }
}
