import TensorCore

/// A path between two inputs that stays in one predicted class (SPEC V6; study `002` §2.2,
/// after Fawzi et al. 2018, "Empirical study of the topology and geometry of deep networks"),
/// with the study's two complexity measures (§2.2.1) and its PCA view (Figures 5–7).
public struct ClassPath: Sendable {
    /// The path's vertices x₀ … x₁, each flattened; consecutive vertices are joined by straight
    /// segments.
    public let points: [[Float]]
    /// The shape of one sample (without the batch axis).
    public let sampleShape: [Int]
    /// The class every checked point of the path is predicted as.
    public let targetClass: Int
    /// How many midpoints had to be pulled back into the class by the targeted repair.
    public let repairedMidpoints: Int
    /// The number of vertices (2 when the straight segment is itself valid).
    public var pointCount: Int { points.count }
    /// maxᵢ dist(pᵢ, line(x₀, x₁)) / ‖x₁ − x₀‖₂: the largest orthogonal distance of a vertex from
    /// the straight line through the ends, ‖(pᵢ − x₀) − ⟨pᵢ − x₀, e⟩e‖ with e = (x₁ − x₀)/‖x₁ − x₀‖,
    /// over the length of the straight segment (0 for the straight path itself and when x₀ = x₁).
    public let maxDeviationRatio: Double
    /// The fractions of the path's variance explained by its principal components (vertices as
    /// samples, centred), largest first, at most 10 entries, each in [0, 1], summing to ≤ 1.
    public let explainedVarianceRatio: [Double]
    /// Each vertex's coordinates on the first two principal components (the second is 0 when
    /// the path is a straight line).
    public let projection: [(Double, Double)]

    /// A path through `points` (flattened samples of shape `sampleShape`, the first and last
    /// being the ends), with its deviation ratio and PCA computed from the points.
    public init(points: [[Float]], sampleShape: [Int], targetClass: Int, repairedMidpoints: Int) {
        let d = sampleShape.reduce(1, *)
        precondition(points.count >= 1 && points.allSatisfy { $0.count == d }, "ClassPath: vertices must have the sample's size")
        self.points = points
        self.sampleShape = sampleShape
        self.targetClass = targetClass
        self.repairedMidpoints = repairedMidpoints
        maxDeviationRatio = Self.deviationRatio(points)
        let pca = PrincipalComponents(samples: points, components: 10)
        explainedVarianceRatio = pca.explainedVarianceRatio
        projection = pca.scores.map { ($0.count > 0 ? $0[0] : 0, $0.count > 1 ? $0[1] : 0) }
    }

    /// Vertex `index` as a `[1, …]` tensor.
    public func tensor(at index: Int) -> Tensor { Tensor(points[index], shape: [1] + sampleShape) }

    static func deviationRatio(_ points: [[Float]]) -> Double {
        guard let first = points.first, let last = points.last else { return 0 }
        let e = zip(last, first).map { Double($0) - Double($1) }
        let length = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard length > 0 else { return 0 }
        var worst: Double = 0
        for p in points.dropFirst().dropLast() {   // the ends lie on the line by definition
            let w = zip(p, first).map { Double($0) - Double($1) }
            let along = zip(w, e).reduce(0) { $0 + $1.0 * $1.1 } / length
            var sq: Double = 0
            for j in w.indices { let r = w[j] - along * e[j] / length; sq += r * r }
            worst = Swift.max(worst, sq.squareRoot())
        }
        return worst / length
    }
}
