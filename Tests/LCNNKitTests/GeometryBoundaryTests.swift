import LCNNKit
import TensorCore
import Testing

/// SPEC V4: the quadratic boundary fit recovers known curvatures, directly and through
/// `BoundaryTrace` on classifiers with a known curved boundary.
@Suite("Geometry: boundary curvature")
struct GeometryBoundaryTests {
    static let bValues: [Float] = (0...20).map { -0.5 + 0.05 * Float($0) }

    @Test("an exact parabola gives its coefficients back, even far from b = 0")
    func exactParabola() throws {
        for shift in [0.0, 1000.0] {
            let points = (0...10).map { i -> (b: Double, a: Double) in
                let b = shift - 1 + 0.2 * Double(i)
                return (b, 0.7 * b * b + 0.2 * b + 1)
            }
            let fit = try QuadraticBoundaryFit.fit(points)
            #expect(Swift.abs(fit.c2 - 0.7) < 1e-6 && Swift.abs(fit.c1 - 0.2) < 1e-3 * Swift.max(1, shift) && fit.pointCount == 11, "\(fit)")
            #expect(fit.rootMeanSquareResidual < 1e-6 * Swift.max(1, shift * shift))
            if shift == 0 {
                #expect(Swift.abs(fit.c0 - 1) < 1e-9)
                #expect(Swift.abs(fit.curvature - 1.4 / (1.04 * 1.04.squareRoot())) < 1e-9, "κ = 2c₂/(1 + c₁²)^{3/2}")
                #expect(Swift.abs(fit.a(at: 0.5) - (0.7 * 0.25 + 0.1 + 1)) < 1e-9)
            }
        }
    }

    @Test("a circular arc of radius R near its vertex has curvature 1/R", arguments: [1.0, 2.0, 5.0])
    func circle(_ radius: Double) throws {
        var g = SeededGenerator(seed: 9)
        let points = (0...40).map { i -> (b: Double, a: Double) in
            let b = -0.2 * radius + 0.01 * radius * Double(i)
            return (b, 0.3 + radius - (radius * radius - b * b).squareRoot() + 1e-6 * Double(g.nextNormal()))
        }
        let fit = try QuadraticBoundaryFit.fit(points)
        #expect(Swift.abs(fit.curvature * radius - 1) < 0.03, "κ = \(fit.curvature), 1/R = \(1 / radius)")
        #expect(Swift.abs(fit.c0 - 0.3) < 0.01 * radius)
    }

    @Test("fewer than 3 points, or 3 points at one b, throw")
    func tooFewPoints() {
        #expect(throws: GeometryError.tooFewBoundaryPoints(2)) { try QuadraticBoundaryFit.fit([(0, 1), (1, 2)]) }
        #expect(throws: GeometryError.tooFewBoundaryPoints(0)) { try QuadraticBoundaryFit.fit([]) }
        #expect(throws: GeometryError.self) { try QuadraticBoundaryFit.fit([(1, 1), (1, 2), (1, 3), (1, 4)]) }
        #expect(throws: GeometryError.self) { try QuadraticBoundaryFit.fit([(0, 1), (0, 2), (1, 3), (1, 4)]) }
    }

    @Test("BoundaryTrace + fit recover κ = k for the boundary a = k/2·b² + d (both signs)",
          arguments: [(Float(2), Float(0.5)), (Float(-1.5), Float(0.8)), (Float(0.4), Float(0.3))])
    func traceRecoversCurvature(_ k: Float, _ offset: Float) throws {
        let f = GeometryFixtures.parabola(k: k, offset: offset)
        let plane = try InputPlane(origin: Tensor([0, 0], shape: [1, 2]), u: Tensor([1, 0], shape: [1, 2]), v: Tensor([0, 1], shape: [1, 2]))
        let points = BoundaryTrace.trace(f, plane: plane, bValues: Self.bValues, maxDistance: 2, scanSteps: 32, tolerance: 1e-5)
        #expect(points.count == Self.bValues.count)
        for p in points {
            let exact = Double(k) / 2 * p.b * p.b + Double(offset)
            #expect(Swift.abs(p.a - exact) < 1e-4, "b = \(p.b): a = \(p.a), boundary at \(exact)")
        }
        let fit = try QuadraticBoundaryFit.fit(points)
        #expect(Swift.abs(fit.curvature - Double(k)) < 0.05 * Double(Swift.abs(k)), "κ = \(fit.curvature), k = \(k)")
        #expect(Swift.abs(fit.c0 - Double(offset)) < 1e-3)
    }

    @Test("through the adversarial plane (u from DeepFool, v random) the curvature is k too")
    func adversarialPlaneCurvature() throws {
        let f = GeometryFixtures.parabola(k: 3, offset: 0.4)
        var g = SeededGenerator(seed: 12)
        let plane = try InputPlane.adversarial(through: Tensor([0, 0], shape: [1, 2]), classifier: f, generator: &g)
        #expect(Swift.abs(plane.u.scalars[0] - 1) < 1e-5, "u = \(plane.u.scalars)")
        let points = BoundaryTrace.trace(f, plane: plane, bValues: Self.bValues, maxDistance: 2)
        let fit = try QuadraticBoundaryFit.fit(points)
        #expect(Swift.abs(fit.curvature - 3) < 0.15, "κ = \(fit.curvature)")
    }

    @Test("b values without a boundary within maxDistance are left out")
    func missingBoundary() throws {
        let f = GeometryFixtures.parabola(k: 2, offset: 0.5)   // boundary at a = b² + 0.5
        let plane = try InputPlane(origin: Tensor([0, 0], shape: [1, 2]), u: Tensor([1, 0], shape: [1, 2]), v: Tensor([0, 1], shape: [1, 2]))
        let points = BoundaryTrace.trace(f, plane: plane, bValues: [-1, 0, 0.5, 1.5], maxDistance: 1)
        #expect(points.map(\.b) == [0, 0.5], "a* = 1.5 at b = ±1 and 2.75 at b = 1.5 lie beyond 1")
        #expect(Swift.abs(points[1].a - 0.75) < 2e-4)
    }
}
