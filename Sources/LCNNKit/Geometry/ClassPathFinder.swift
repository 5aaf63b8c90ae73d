import TensorCore

/// SPEC V6: path-connectedness of classification regions (study `002` §2.2, after Fawzi et al.
/// 2018, "Empirical study of the topology and geometry of deep networks", who find that two
/// inputs of the same predicted class can always be joined by a path inside that class, and that
/// the path stays close to the straight line).
///
/// With c the class predicted at both ends, the search for a piecewise-linear path is recursive
/// midpoint repair:
///
/// 1. Check the segment [x₀, x₁] at `checkPoints` evenly spaced points x₀ + t(x₁ − x₀),
///    t = i/(checkPoints − 1), both ends included. If all are predicted c, accept the segment.
/// 2. Otherwise take the midpoint m = (x₀ + x₁)/2. If f(m) is not c, repair it with targeted
///    gradient steps towards c (normalised ℓ2 steps on the cross-entropy of class c),
///
///        m ← clip(m − α·L·∇ₘℓ(f(m), c) / ‖∇ₘℓ(f(m), c)‖₂),
///
///    with L = ‖x₁ − x₀‖₂ the current segment's length and α = `repairStepSize`, until f(m)
///    predicts c; after `repairSteps` steps without success the search fails.
/// 3. Recurse on [x₀, m] and [m, x₁]; a segment still invalid at depth `maxDepth` fails.
///
/// The path is accepted on sampled points only: a class excursion narrower than one check
/// interval (L/(checkPoints − 1)) can be missed; raise `checkPoints` to check more densely.
public struct ClassPathFinder: Sendable {
    /// Points checked (evenly spaced, both ends included) on every segment before it is accepted.
    public var checkPoints: Int = 16
    /// The deepest recursion of the midpoint repair (the top segment is depth 0).
    public var maxDepth: Int = 12
    /// Targeted gradient steps allowed to pull one midpoint back into the class.
    public var repairSteps: Int = 50
    /// The ℓ2 length of one targeted step as a fraction of the length of the segment whose
    /// midpoint is repaired (so a repair moves at most repairSteps·repairStepSize segment lengths).
    public var repairStepSize: Float = 0.05
    /// Midpoints and repair steps are clamped into this range ([0, 1] for images); nil for
    /// unbounded inputs such as two-moons points.
    public var inputRange: ClosedRange<Float>? = 0...1
    /// Points evaluated per forward pass when checking segments.
    public var batchSize: Int = 256

    public init(checkPoints: Int = 16, maxDepth: Int = 12, repairSteps: Int = 50, repairStepSize: Float = 0.05,
                inputRange: ClosedRange<Float>? = 0...1, batchSize: Int = 256) {
        precondition(checkPoints >= 2, "ClassPathFinder: checkPoints must include both ends (≥ 2)")
        precondition(maxDepth >= 0 && repairSteps >= 0 && repairStepSize > 0 && batchSize >= 1,
                     "ClassPathFinder: maxDepth and repairSteps non-negative, repairStepSize and batchSize positive")
        self.checkPoints = checkPoints
        self.maxDepth = maxDepth
        self.repairSteps = repairSteps
        self.repairStepSize = repairStepSize
        self.inputRange = inputRange
        self.batchSize = batchSize
    }

    /// A path from `x0` to `x1` (single samples of the same shape `[1, …]`) inside their common
    /// predicted class. Throws `GeometryError.shapeMismatch` for other shapes,
    /// `.differentClasses` when the ends are predicted differently, and `.pathNotFound` when a
    /// repair or the recursion depth runs out.
    public func find(_ classifier: @escaping Classifier, from x0: Tensor, to x1: Tensor) throws(GeometryError) -> ClassPath {
        guard x0.rank >= 2, x0.shape[0] == 1, x0.shape == x1.shape else {
            throw .shapeMismatch("a class path joins two single samples of the same shape [1, …], not \(x0.shape) and \(x1.shape)")
        }
        let sampleShape = Array(x0.shape.dropFirst())
        let start = x0.scalars, end = x1.scalars
        let classes = BatchedPrediction.classes(classifier, rows: start + end, sampleShape: sampleShape, batchSize: 2)
        guard classes[0] == classes[1] else { throw .differentClasses(from: classes[0], to: classes[1]) }
        var search = Search(finder: self, classifier: classifier, sampleShape: sampleShape, target: classes[0])
        let tail = try search.connect(start, end, depth: 0)
        return ClassPath(points: [start] + tail, sampleShape: sampleShape, targetClass: classes[0],
                         repairedMidpoints: search.repaired)
    }

    /// One search's state: the classifier, the target class and the repair count.
    struct Search {
        let finder: ClassPathFinder
        let classifier: Classifier
        let sampleShape: [Int]
        let target: Int
        var repaired = 0

        /// The vertices after `a` up to and including `b` of a valid path from a to b.
        mutating func connect(_ a: [Float], _ b: [Float], depth: Int) throws(GeometryError) -> [[Float]] {
            if segmentIsValid(a, b) { return [b] }
            guard depth < finder.maxDepth else {
                throw .pathNotFound(depth: depth, reason: "a segment still leaves class \(target) after \(finder.maxDepth) halvings")
            }
            var m = FlatVector.clamped(zip(a, b).map { ($0 + $1) / 2 }, to: finder.inputRange)
            if BatchedPrediction.classOf(classifier, m, sampleShape: sampleShape) != target {
                m = try repair(m, segmentLength: Float(FlatVector.distance(a, b)), depth: depth)
                repaired += 1
            }
            return try connect(a, m, depth: depth + 1) + connect(m, b, depth: depth + 1)
        }

        /// Whether all `checkPoints` evenly spaced points of [a, b] are predicted `target`.
        func segmentIsValid(_ a: [Float], _ b: [Float]) -> Bool {
            let k = finder.checkPoints, d = a.count
            var rows = [Float](repeating: 0, count: k * d)
            for i in 0..<k {
                let t = Float(i) / Float(k - 1)
                for j in 0..<d { rows[i * d + j] = i == k - 1 ? b[j] : a[j] + t * (b[j] - a[j]) }
            }
            return BatchedPrediction.classes(classifier, rows: rows, sampleShape: sampleShape, batchSize: finder.batchSize)
                .allSatisfy { $0 == target }
        }

        /// Targeted normalised-gradient steps on ℓ(f(m), target) until m is predicted `target`.
        func repair(_ start: [Float], segmentLength: Float, depth: Int) throws(GeometryError) -> [Float] {
            let step = finder.repairStepSize * segmentLength
            var m = start
            for _ in 0..<finder.repairSteps {
                let g = inputGradient(of: classifier, at: Tensor(m, shape: [1] + sampleShape), labels: [target]).gradient.scalars
                let norm = Float(FlatVector.norm(g))
                guard norm > 0, norm.isFinite else {
                    throw .pathNotFound(depth: depth, reason: "the gradient towards class \(target) vanished while repairing a midpoint")
                }
                m = FlatVector.clamped((0..<m.count).map { m[$0] - step * g[$0] / norm }, to: finder.inputRange)
                if BatchedPrediction.classOf(classifier, m, sampleShape: sampleShape) == target { return m }
            }
            throw .pathNotFound(depth: depth, reason: "a midpoint did not reach class \(target) in \(finder.repairSteps) targeted steps")
        }
    }
}
