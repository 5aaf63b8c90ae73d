import Testing
import TensorCore
import _TestSupport

/// First- and second-order gradient checks of the elementwise operations (unary, binary with
/// broadcasting, softplus family, clamp, where).
@Suite("Gradient checks: elementwise")
struct GradCheckElementwiseTests {
    static let unaryCases: [GradCase] = [
        GradCase("exp", inputs: { [Fixtures.normal([3, 4], seed: 1)] }) { exp($0[0]) },
        GradCase("log", inputs: { [Fixtures.uniform([3, 4], seed: 2, low: 0.5, high: 2)] }) { log($0[0]) },
        GradCase("log1p", inputs: { [Fixtures.uniform([3, 4], seed: 3, low: -0.5, high: 2)] }) { log1p($0[0]) },
        GradCase("sqrt", inputs: { [Fixtures.uniform([3, 4], seed: 4, low: 0.5, high: 2)] }) { sqrt($0[0]) },
        GradCase("abs", inputs: { [Fixtures.awayFromZero([3, 4], seed: 5)] }) { square(abs($0[0])) * abs($0[0]) },
        GradCase("abs alone", inputs: { [Fixtures.awayFromZero([2, 3], seed: 6)] }) { abs($0[0]) },
        GradCase("sign (zero gradient)", inputs: { [Fixtures.awayFromZero([3, 4], seed: 7)] }) { sign($0[0]) * $0[0] },
        GradCase("sigmoid", inputs: { [Fixtures.normal([3, 4], seed: 8, std: 2)] }) { sigmoid($0[0]) },
        GradCase("tanh", inputs: { [Fixtures.normal([3, 4], seed: 9)] }) { tanh($0[0]) },
        GradCase("relu", inputs: { [Fixtures.awayFromZero([3, 4], seed: 10)] }) { square(relu($0[0])) },
        GradCase("square", inputs: { [Fixtures.normal([3, 4], seed: 11)] }) { square($0[0]) },
        GradCase("reciprocal", inputs: { [Fixtures.uniform([3, 4], seed: 12, low: 0.5, high: 1.5)] }) { reciprocal($0[0]) },
        GradCase("reciprocal negative", inputs: { [Fixtures.uniform([2, 3], seed: 13, low: -1.5, high: -0.5)] }) { reciprocal($0[0]) },
        GradCase("negate", inputs: { [Fixtures.normal([3, 4], seed: 14)] }) { square(-$0[0]) },
        GradCase("scalar input", inputs: { [Tensor(0.7)] }) { exp($0[0]) * tanh($0[0]) },
        GradCase("pow(x, 3)", inputs: { [Fixtures.normal([3, 4], seed: 15)] }) { pow($0[0], 3) },
        GradCase("pow(x, 0.5)", inputs: { [Fixtures.uniform([3, 4], seed: 16, low: 0.5, high: 2)] }) { pow($0[0], 0.5) },
        GradCase("pow(x, -1.5)", inputs: { [Fixtures.uniform([3, 4], seed: 17, low: 0.5, high: 2)] }) { pow($0[0], -1.5) },
        GradCase("pow(x, 1)", inputs: { [Fixtures.normal([3], seed: 18)] }) { square(pow($0[0], 1)) },
        GradCase("x * 2.5 and 2.5 * x", inputs: { [Fixtures.normal([3, 4], seed: 19)] }) { square($0[0] * 2.5) + 2.5 * $0[0] },
        GradCase("x + 1 and 1 - x", inputs: { [Fixtures.normal([3, 4], seed: 20)] }) { square($0[0] + 1) * (1 - $0[0]) },
        GradCase("x / 3 and 3 / x", inputs: { [Fixtures.uniform([3, 4], seed: 21, low: 0.5, high: 1.5)] }) { $0[0] / 3 + 3 / $0[0] },
        GradCase("maximum(x, 0.1)", inputs: { [Fixtures.distinct([3, 4], seed: 22, spacing: 0.1) + 0.03] }) { square(maximum($0[0], 0.1)) },
        GradCase("minimum(x, 0.1)", inputs: { [Fixtures.distinct([3, 4], seed: 23, spacing: 0.1) + 0.03] }) { square(minimum($0[0], 0.1)) },
    ]

    @Test("unary", arguments: unaryCases)
    func unary(_ c: GradCase) { c.run() }

    /// Operand shapes for the broadcasting binary operations.
    static let shapePairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]),
        ([3, 4], [4]),
        ([4], [3, 4]),
        ([2, 3, 1], [1, 4]),
        ([3, 1], [1, 4]),
        ([], [2, 3]),
        ([2, 3], []),
        ([2, 3, 2, 2], [1, 3, 1, 1]),
        ([1, 3, 1, 1], [2, 3, 2, 2]),
    ]

    enum Binary: String, CaseIterable, Sendable { case add, subtract, multiply, divide, pow, maximum, minimum }

    static var binaryArguments: [(Binary, [Int], [Int])] {
        Binary.allCases.flatMap { op in shapePairs.map { (op, $0.0, $0.1) } }
    }

    @Test("binary with broadcasting, w.r.t. both inputs", arguments: binaryArguments)
    func binary(_ op: Binary, _ shapeA: [Int], _ shapeB: [Int]) {
        let a: Tensor, b: Tensor
        switch op {
        case .add, .subtract, .multiply:
            (a, b) = (Fixtures.normal(shapeA, seed: 31), Fixtures.normal(shapeB, seed: 32))
        case .divide:
            (a, b) = (Fixtures.normal(shapeA, seed: 33), Fixtures.uniform(shapeB, seed: 34, low: 0.5, high: 1.5))
        case .pow:
            (a, b) = (Fixtures.uniform(shapeA, seed: 35, low: 0.5, high: 2), Fixtures.normal(shapeB, seed: 36))
        case .maximum, .minimum:
            let t = distinctTensors([shapeA, shapeB], seed: 37)
            (a, b) = (t[0], t[1])
        }
        expectGradCheck([a, b], "\(op) \(shapeA) \(shapeB)") { x in
            switch op {
            case .add: return square(x[0] + x[1])
            case .subtract: return square(x[0] - x[1])
            case .multiply: return x[0] * x[1]
            case .divide: return x[0] / x[1]
            case .pow: return pow(x[0], x[1])
            case .maximum: return square(maximum(x[0], x[1]))
            case .minimum: return square(minimum(x[0], x[1]))
            }
        }
    }

    // MARK: softplus family

    @Test("softplus with constant β", arguments: [Float(0.5), 1, 5], [false, true])
    func softplusConstantBeta(_ beta: Float, _ centered: Bool) {
        let x = Fixtures.normal([3, 4], seed: 41)
        expectGradCheck([x], "softplus β=\(beta) centered=\(centered)") { softplus($0[0], beta: beta, centered: centered) }
    }

    @Test("softplus with learnable β (w.r.t. x and β)", arguments: [Float(0.7), 2, 5], [false, true])
    func softplusLearnableBeta(_ beta: Float, _ centered: Bool) {
        let x = Fixtures.normal([3, 4], seed: 42)
        expectGradCheck([x, Tensor(beta)], "softplus learnable β=\(beta) centered=\(centered)") {
            softplus($0[0], beta: $0[1], centered: centered)
        }
    }

    @Test("softplus with a [1]-shaped learnable β")
    func softplusBetaShapeOne() {
        let x = Fixtures.normal([2, 3], seed: 43)
        expectGradCheck([x, Tensor([1.5], shape: [1])]) { softplus($0[0], beta: $0[1], centered: true) }
    }

    /// KNOWN BUG (reported): `scaledSigmoid`'s rule returns `slope * beta`, which broadcasts to a
    /// larger shape than x when β (any one-element tensor is accepted) has a higher rank than x,
    /// and the engine then stops with "scaledSigmoid backward: shapes … differ". It is reached by
    /// first-order scaledSigmoid and by second-order softplus. Run in a child process so that the
    /// crash fails only this test.
    @Test("scaledSigmoid / softplus with a β of higher rank than x (β shaped [1] or [1, 1])")
    func betaOfHigherRank() async {
        await #expect(processExitsWith: .success) {
            let x = Tensor([0.5, -1, 2]).requiringGrad()
            let beta = Tensor([2], shape: [1, 1]).requiringGrad()
            let g = gradients(of: scaledSigmoid(x, beta: beta).sum(), wrt: [x, beta])
            precondition(g[0].shape == [3] && g[1].shape == [1, 1])
            let x0 = Tensor(0.5).requiringGrad(), b1 = Tensor([2], shape: [1]).requiringGrad()
            let h = hvp(of: softplus(x0, beta: b1), wrt: x0, along: Tensor(1))
            precondition(h.shape == [])
        }
    }

    @Test("scaledSigmoid w.r.t. x and β", arguments: [Float(0.5), 3])
    func scaledSigmoidGrad(_ beta: Float) {
        let x = Fixtures.normal([3, 4], seed: 44)
        expectGradCheck([x, Tensor(beta)]) { scaledSigmoid($0[0], beta: $0[1]) }
    }

    // MARK: clamp and where

    @Test("clamp away from the bounds")
    func clampGrad() {
        // Values on a 0.1 grid (−0.6 … 0.5); the bounds sit halfway between grid points.
        let x = Fixtures.distinct([3, 4], seed: 45, spacing: 0.1)
        expectGradCheck([x], "both bounds") { square(clamp($0[0], min: -0.25, max: 0.35)) }
        expectGradCheck([x], "min only") { square(clamp($0[0], min: -0.25)) }
        expectGradCheck([x], "max only") { square(clamp($0[0], max: 0.35)) }
    }

    @Test("where w.r.t. both branches, with broadcasting")
    func whereGrad() {
        let a = Fixtures.normal([3, 4], seed: 46), b = Fixtures.normal([4], seed: 47)
        let condition = Fixtures.normal([3, 4], seed: 48).greater(0)
        expectGradCheck([a, b], "full condition") { `where`(condition, square($0[0]), exp($0[1])) }
        let rowCondition = Tensor([1, 0, 1], shape: [3, 1])
        expectGradCheck([a, b], "broadcast condition") { `where`(rowCondition, square($0[0]), $0[1] * $0[1]) }
        let scalarB = Tensor(0.3)
        expectGradCheck([a, scalarB], "scalar branch") { `where`(condition, $0[0], $0[1]) * $0[0] }
    }
}
