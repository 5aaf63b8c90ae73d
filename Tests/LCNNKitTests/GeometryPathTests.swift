import LCNNKit
import TensorCore
import Testing

/// SPEC V6 (study `002` §2.2, Fawzi et al. 2018): class paths stay in the class, checked densely
/// here, and their complexity measures are right.
@Suite("Geometry: class paths")
struct GeometryPathTests {
    /// Class 0 is the outside of a disc (non-convex) that blocks the straight line between the ends.
    static let centre: [Float] = [0.5, 0.55]
    static let radius: Float = 0.3
    static let x0 = Tensor([0.1, 0.5], shape: [1, 2])
    static let x1 = Tensor([0.9, 0.5], shape: [1, 2])

    /// The classes at `count` evenly spaced points of the segment [a, b] (both ends included).
    static func segmentClasses(_ f: Classifier, _ a: [Float], _ b: [Float], count: Int = 200) -> [Int] {
        var rows: [Float] = []
        for i in 0..<count {
            let t = Float(i) / Float(count - 1)
            rows += zip(a, b).map { $0 + t * ($1 - $0) }
        }
        return GeometryFixtures.predicted(f, Tensor(rows, shape: [count, a.count]))
    }

    @Test("a path around a disc stays in the class on every segment, checked densely")
    func pathAroundDisc() throws {
        let f = GeometryFixtures.outsideDisc(centre: Self.centre, radius: Self.radius)
        #expect(GeometryFixtures.predicted(f, concatenate([Self.x0, Self.x1])) == [0, 0])
        #expect(Self.segmentClasses(f, Self.x0.scalars, Self.x1.scalars).contains(1), "the straight line crosses the disc")

        let path = try ClassPathFinder(inputRange: 0...1).find(f, from: Self.x0, to: Self.x1)
        #expect(path.targetClass == 0 && path.sampleShape == [2])
        #expect(path.points.first! == Self.x0.scalars && path.points.last! == Self.x1.scalars)
        #expect(path.pointCount > 2 && path.repairedMidpoints > 0)
        for (a, b) in zip(path.points, path.points.dropFirst()) {
            let classes = Self.segmentClasses(f, a, b)
            #expect(classes.allSatisfy { $0 == 0 }, "segment \(a) → \(b) leaves class 0")
        }
        #expect(path.points.allSatisfy { $0.allSatisfy { (0...1).contains($0) } }, "vertices stay in the input range")
        #expect(path.tensor(at: 1).shape == [1, 2] && path.tensor(at: 1).scalars == path.points[1])

        // Deviation: recomputed here as |cross(p − x₀, x₁ − x₀)|/‖x₁ − x₀‖²; the path must pass the
        // disc, so some vertex is at least 0.25 (the disc's edge below the line) off it: ratio ≥ 0.3125.
        let deviation = path.points.map { p in Double(Swift.abs((p[0] - 0.1) * 0 - (p[1] - 0.5) * 0.8)) / 0.64 }.max()!
        #expect(Swift.abs(path.maxDeviationRatio - deviation) < 1e-6, "\(path.maxDeviationRatio) vs \(deviation)")
        #expect(path.maxDeviationRatio >= 0.3)

        let ratios = path.explainedVarianceRatio
        try #require(ratios.count == 2)
        #expect(ratios.allSatisfy { (0...1).contains($0) } && zip(ratios, ratios.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(ratios.reduce(0, +) <= 1 + 1e-9 && ratios[1] > 1e-3, "a bent path has a second component: \(ratios)")
        // In 2-D the first two components are a rotation of the centred path: distances are kept.
        #expect(path.projection.count == path.pointCount)
        for i in 0..<path.pointCount {
            for j in 0..<path.pointCount where j > i {
                let p = path.points[i], q = path.points[j], u = path.projection[i], v = path.projection[j]
                let d = (Double(p[0] - q[0]) * Double(p[0] - q[0]) + Double(p[1] - q[1]) * Double(p[1] - q[1])).squareRoot()
                let e = ((u.0 - v.0) * (u.0 - v.0) + (u.1 - v.1) * (u.1 - v.1)).squareRoot()
                #expect(Swift.abs(d - e) < 1e-5)
            }
        }
    }

    @Test("a valid straight line is returned as two points with no deviation")
    func straightLine() throws {
        let f = GeometryFixtures.linear(weights: [[1, 0], [-1, 0]], bias: [0, 0])   // class 0 iff x₁ > 0
        let a = Tensor([0.2, 0.1], shape: [1, 2]), b = Tensor([0.9, 0.8], shape: [1, 2])
        let path = try ClassPathFinder().find(f, from: a, to: b)
        #expect(path.pointCount == 2 && path.repairedMidpoints == 0 && path.targetClass == 0)
        #expect(path.maxDeviationRatio == 0)
        #expect(path.explainedVarianceRatio.count == 1 && Swift.abs(path.explainedVarianceRatio[0] - 1) < 1e-9)
        #expect(path.projection.allSatisfy { $0.1 == 0 })
        #expect(Swift.abs(Swift.abs(path.projection[1].0 - path.projection[0].0) - 0.7 * 2.0.squareRoot()) < 1e-6)
    }

    @Test("a path through images (3×3, one channel) around a ball")
    func imagePath() throws {
        var centre = [Float](repeating: 0.5, count: 9)
        centre[4] = 0.52
        let f = GeometryFixtures.outsideDisc(centre: centre, radius: 0.35)
        var start = [Float](repeating: 0.5, count: 9), end = start
        start[0] = 0.05; end[0] = 0.95
        let x0 = Tensor(start, shape: [1, 1, 3, 3]), x1 = Tensor(end, shape: [1, 1, 3, 3])
        let path = try ClassPathFinder().find(f, from: x0, to: x1)
        #expect(path.sampleShape == [1, 3, 3] && path.repairedMidpoints > 0)
        for (a, b) in zip(path.points, path.points.dropFirst()) {
            #expect(Self.segmentClasses(f, a, b).allSatisfy { $0 == 0 })
        }
        #expect(path.maxDeviationRatio > 0.3 && path.explainedVarianceRatio.reduce(0, +) <= 1 + 1e-9)
    }

    @Test("inputs of different classes throw differentClasses with a clear message")
    func differentClasses() {
        let f = GeometryFixtures.outsideDisc(centre: Self.centre, radius: Self.radius)
        let inside = Tensor(Self.centre, shape: [1, 2])
        #expect(throws: GeometryError.differentClasses(from: 0, to: 1)) { try ClassPathFinder().find(f, from: Self.x0, to: inside) }
        #expect(GeometryError.differentClasses(from: 3, to: 7).description
            == "the two inputs are predicted as different classes (3 and 7); a class path needs two inputs of the same class")
    }

    @Test("the search fails when the repair or the depth runs out")
    func failures() {
        let f = GeometryFixtures.outsideDisc(centre: Self.centre, radius: Self.radius)
        #expect(throws: GeometryError.self) { try ClassPathFinder(maxDepth: 0).find(f, from: Self.x0, to: Self.x1) }
        #expect(throws: GeometryError.self) { try ClassPathFinder(repairSteps: 1, repairStepSize: 0.01).find(f, from: Self.x0, to: Self.x1) }
        #expect(throws: GeometryError.self) { try ClassPathFinder().find(f, from: Self.x0, to: Tensor([0.1, 0.5, 0], shape: [1, 3])) }
    }
}
