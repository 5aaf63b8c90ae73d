import Testing
import TensorCore
import _TestSupport

/// Shared helpers for the TensorCore tests.

/// Runs `GradCheck` at first order and (unless `secondOrder` is false) second order, and records
/// one expectation per order whose message lists every per-input report.
func expectGradCheck(_ inputs: [Tensor], secondOrder: Bool = true, checker: GradCheck = GradCheck(),
                     _ label: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ f: @escaping ([Tensor]) -> Tensor) {
    let first = checker.firstOrder(inputs, f)
    #expect(GradCheck.allPassed(first), "\(label) first order: \(first)", sourceLocation: sourceLocation)
    if secondOrder {
        let second = checker.secondOrder(inputs, f)
        #expect(GradCheck.allPassed(second), "\(label) second order: \(second)", sourceLocation: sourceLocation)
    }
}

/// A named gradient-check case for parameterised tests.
struct GradCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: @Sendable () -> [Tensor]
    let f: @Sendable ([Tensor]) -> Tensor
    var secondOrder = true

    init(_ name: String, secondOrder: Bool = true, inputs: @escaping @Sendable () -> [Tensor],
         _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name
        self.inputs = inputs
        self.f = f
        self.secondOrder = secondOrder
    }

    var testDescription: String { name }

    func run(sourceLocation: SourceLocation = #_sourceLocation) {
        expectGradCheck(inputs(), secondOrder: secondOrder, name, sourceLocation: sourceLocation, f)
    }
}

/// Elementwise comparison with `|a − b| ≤ atol + rtol·|b|`; reports the worst element.
func expectClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
    let worst = worstToleranceViolation(actual, expected.map(Double.init), rtol: Double(rtol), atol: Double(atol))
    #expect(worst == nil, "\(label): element \(worst?.index ?? -1) is \(worst?.actual ?? 0), expected \(worst?.expected ?? 0)",
            sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor, _ expected: [Float], shape: [Int]? = nil, rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    if let shape { #expect(actual.shape == shape, "\(label): shape", sourceLocation: sourceLocation) }
    expectClose(actual.scalars, expected, rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
}

/// Splits the `count` values of a shuffled, evenly spaced ramp (no two within `spacing`) into
/// tensors of the given shapes, for maximum/minimum/max-pool checks that must avoid ties.
func distinctTensors(_ shapes: [[Int]], seed: UInt64, spacing: Float = 0.05) -> [Tensor] {
    let total = shapes.map(Shape.count).reduce(0, +)
    let all = Fixtures.distinct([total], seed: seed, spacing: spacing).scalars
    var offset = 0
    return shapes.map { s in
        defer { offset += Shape.count(s) }
        return Tensor(Array(all[offset..<(offset + Shape.count(s))]), shape: s)
    }
}

/// ⟨a, b⟩ accumulated in Double.
func dot(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count)
    let x = a.scalars, y = b.scalars
    var s = 0.0
    for i in x.indices { s += Double(x[i]) * Double(y[i]) }
    return s
}

/// Σ|aᵢ·bᵢ| in Double (the scale of ⟨a, b⟩ for rounding-error bounds).
func absDot(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.scalars, y = b.scalars
    var s = 0.0
    for i in x.indices { s += Swift.abs(Double(x[i]) * Double(y[i])) }
    return s
}
