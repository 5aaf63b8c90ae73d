import LCNNKit
import TensorCore
import Testing

/// SPEC V4/V5: input planes are orthonormal, their grids are the classifier's own predictions,
/// and the adversarial direction is the boundary normal.
@Suite("Geometry: input planes")
struct GeometryPlaneTests {
    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    @Test("u is normalised and v is Gram–Schmidt-orthonormalised against it")
    func orthonormalisation() throws {
        let plane = try InputPlane(origin: Tensor([0.2, 0.3], shape: [1, 2]), u: Tensor([3, 4], shape: [1, 2]), v: Tensor([1, 0], shape: [1, 2]))
        #expect(Swift.abs(plane.u.scalars[0] - 0.6) < 1e-6 && Swift.abs(plane.u.scalars[1] - 0.8) < 1e-6)
        // v ⟂ u, unit, on the side of the given v: (0.8, −0.6).
        #expect(Swift.abs(plane.v.scalars[0] - 0.8) < 1e-6 && Swift.abs(plane.v.scalars[1] + 0.6) < 1e-6)
        #expect(plane.origin.scalars == [0.2, 0.3])
        let p = plane.points([(a: 1, b: 0), (a: 0, b: 2), (a: -1, b: 1)])
        #expect(p.shape == [3, 2])
        let expected: [Float] = [0.8, 1.1, 1.8, -0.9, 0.4, -1.1]
        #expect(zip(p.scalars, expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 }, "\(p.scalars)")
    }

    @Test("random planes through images: unit, orthogonal, seeded")
    func randomPlane() throws {
        var g = SeededGenerator(seed: 1)
        let x = Tensor.uniform([1, 1, 4, 4], generator: &g)
        var g1 = SeededGenerator(seed: 7), g2 = SeededGenerator(seed: 7), g3 = SeededGenerator(seed: 8)
        let plane = try InputPlane.random(through: x, generator: &g1)
        #expect(plane.u.shape == [1, 1, 4, 4] && plane.v.shape == [1, 1, 4, 4])
        #expect(Swift.abs(Self.dot(plane.u, plane.u) - 1) < 1e-5)
        #expect(Swift.abs(Self.dot(plane.v, plane.v) - 1) < 1e-5)
        #expect(Swift.abs(Self.dot(plane.u, plane.v)) < 1e-5)
        #expect(try InputPlane.random(through: x, generator: &g2).u.scalars == plane.u.scalars)
        #expect(try InputPlane.random(through: x, generator: &g3).u.scalars != plane.u.scalars)
    }

    @Test("zero, parallel and mis-shaped directions throw")
    func invalidDirections() {
        let o = Tensor([0, 0, 0], shape: [1, 3])
        #expect(throws: GeometryError.invalidDirection("u is zero")) {
            try InputPlane(origin: o, u: Tensor([0, 0, 0], shape: [1, 3]), v: Tensor([1, 0, 0], shape: [1, 3]))
        }
        #expect(throws: GeometryError.invalidDirection("v is parallel to u")) {
            try InputPlane(origin: o, u: Tensor([1, 2, 3], shape: [1, 3]), v: Tensor([-2, -4, -6], shape: [1, 3]))
        }
        #expect(throws: GeometryError.self) {
            try InputPlane(origin: o, u: Tensor([1, 2], shape: [1, 2]), v: Tensor([1, 0, 0], shape: [1, 3]))
        }
        #expect(throws: GeometryError.self) {
            try InputPlane(origin: Tensor([0, 0, 0, 0], shape: [2, 2]), u: Tensor([1, 0], shape: [1, 2]), v: Tensor([0, 1], shape: [1, 2]))
        }
    }

    @Test("classify matches a direct per-point evaluation", arguments: [nil, Optional<ClosedRange<Float>>(0...1)])
    func gridMatchesDirectEvaluation(_ range: ClosedRange<Float>?) throws {
        var g = SeededGenerator(seed: 3)
        let x = Tensor.uniform([1, 1, 3, 3], generator: &g)
        let f = GeometryFixtures.smallNetwork(inputs: 9)
        let plane = try InputPlane.random(through: x, generator: &g)
        let grid = plane.classify(f, a: -3...3, b: -2...4, columns: 7, rows: 5, batchSize: 4, clampTo: range)
        #expect(grid.columns == 7 && grid.rows == 5 && grid.classes.count == 35)
        #expect(grid.aValue(column: 0) == -3 && grid.aValue(column: 6) == 3 && grid.aValue(column: 3) == 0)
        #expect(grid.bValue(row: 0) == -2 && grid.bValue(row: 4) == 4 && grid.bValue(row: 1) == -0.5)
        for row in 0..<5 {
            for column in 0..<7 {
                var point = plane.origin + plane.u * grid.aValue(column: column) + plane.v * grid.bValue(row: row)
                if let r = range { point = clamp(point, min: r.lowerBound, max: r.upperBound) }
                #expect(grid.classAt(column: column, row: row) == GeometryFixtures.predicted(f, point)[0], "(\(column), \(row))")
            }
        }
        #expect(grid.classCounts.values.reduce(0, +) == 35)
        if range == nil { #expect(grid.classCounts.count >= 2, "the grid crosses a boundary: \(grid.classCounts)") }
    }

    @Test("the adversarial direction of a linear classifier is the boundary normal")
    func adversarialDirectionIsNormal() throws {
        let w0: [Float] = [1, 2], w1: [Float] = [-1, 0.5]
        let f = GeometryFixtures.linear(weights: [w0, w1], bias: [0.1, -0.2])
        let x = Tensor([0.3, 0.4], shape: [1, 2])
        let c = GeometryFixtures.predicted(f, x)[0]
        #expect(c == 0)
        var g = SeededGenerator(seed: 5)
        let plane = try InputPlane.adversarial(through: x, classifier: f, generator: &g)
        // Towards class 1: along w₁ − w₀ = (−2, −1.5), normalised (−0.8, −0.6).
        #expect(Swift.abs(plane.u.scalars[0] + 0.8) < 1e-4 && Swift.abs(plane.u.scalars[1] + 0.6) < 1e-4, "u = \(plane.u.scalars)")
        #expect(Swift.abs(Self.dot(plane.u, plane.v)) < 1e-5 && Swift.abs(Self.dot(plane.v, plane.v) - 1) < 1e-5)
        // The boundary lies along +u at the distance (f₀ − f₁)/‖w₁ − w₀‖.
        let margin: Float = (0.3 * 1 + 0.4 * 2 + 0.1) - (0.3 * -1 + 0.4 * 0.5 - 0.2)
        let distance = margin / 2.5
        let before = GeometryFixtures.predicted(f, plane.points([(a: distance * 0.99, b: 0)]))[0]
        let after = GeometryFixtures.predicted(f, plane.points([(a: distance * 1.01, b: 0)]))[0]
        #expect(before == 0 && after == 1)
    }
}
