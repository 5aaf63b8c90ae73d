import Testing
import TensorCore
import _TestSupport

/// The gradient checker itself must catch wrong rules; otherwise every other gradient test is
/// vacuous.
@Suite("GradCheck catches wrong rules")
struct GradCheckSanityTests {
    /// x², computed outside the graph, with a caller-supplied backward rule.
    static func customSquare(_ x: Tensor, rule: @escaping BackwardRule) -> Tensor {
        let value = withoutGrad { x.detached() * x.detached() }
        return Tensor.differentiable(value, op: "customSquare", inputs: [x], rule: rule)
    }

    let x = Fixtures.awayFromZero([3, 4], seed: 151)

    @Test("a correct custom rule passes both orders")
    func correctRulePasses() {
        let f: ([Tensor]) -> Tensor = { v in Self.customSquare(v[0]) { c in [c.gradOutput * c.inputs[0] * 2] } }
        #expect(GradCheck.allPassed(GradCheck().firstOrder([x], f)))
        #expect(GradCheck.allPassed(GradCheck().secondOrder([x], f)))
    }

    @Test("a rule 10 % too large fails the first-order check")
    func wrongRuleFailsFirstOrder() {
        let reports = GradCheck().firstOrder([x]) { v in Self.customSquare(v[0]) { c in [c.gradOutput * c.inputs[0] * 2.2] } }
        #expect(!GradCheck.allPassed(reports), "\(reports)")
        #expect(reports.count == 1)
        #expect(reports.allSatisfy { !$0.passed && $0.maxError > 0 })
    }

    /// The second-order check differentiates the rule as written, so a rule that is wrong but
    /// smooth is self-consistent there: only the first-order check can catch it. (This is why
    /// every gradient test in this suite runs both orders.)
    @Test("second order alone does not catch a smooth but wrong rule (first order must run too)")
    func secondOrderAloneIsNotEnough() {
        let reports = GradCheck().secondOrder([x]) { v in Self.customSquare(v[0]) { c in [c.gradOutput * c.inputs[0] * 2.2] } }
        #expect(GradCheck.allPassed(reports), "\(reports)")
    }

    @Test("a rule using detached values passes first order but fails second order")
    func detachedRuleFailsSecondOrder() {
        let f: ([Tensor]) -> Tensor = { v in Self.customSquare(v[0]) { c in [c.gradOutput * c.inputs[0].detached() * 2] } }
        let first = GradCheck().firstOrder([x], f)
        #expect(GradCheck.allPassed(first), "\(first)")
        let second = GradCheck().secondOrder([x], f)
        #expect(!GradCheck.allPassed(second), "\(second)")
    }

    @Test("a wrong rule on the second of two inputs is reported on that input only")
    func wrongSecondInputIsLocated() {
        let a = Fixtures.normal([3], seed: 152), b = Fixtures.normal([3], seed: 153)
        let reports = GradCheck().firstOrder([a, b]) { v in
            let value = withoutGrad { v[0].detached() * v[1].detached() }
            return Tensor.differentiable(value, op: "badMultiply", inputs: [v[0], v[1]]) { c in
                [c.gradOutput * c.inputs[1], c.gradOutput * c.inputs[0] * 0.9]
            }
        }
        #expect(reports.map(\.passed) == [true, false], "\(reports)")
    }

    @Test("a missing broadcast reduction would be caught: sumToShape matters")
    func brokenBroadcastRuleFails() {
        let a = Fixtures.normal([3, 4], seed: 154), b = Fixtures.normal([4], seed: 155)
        // Sends only row 0 of the gradient to b instead of the sum over rows.
        let reports = GradCheck().firstOrder([a, b]) { v in
            let value = withoutGrad { v[0].detached() + v[1].detached() }
            return Tensor.differentiable(value, op: "badAdd", inputs: [v[0], v[1]]) { c in
                [c.gradOutput, c.gradOutput.sliced(axis: 0, 0..<1).reshaped(to: [4])]
            }
        }
        #expect(reports.map(\.passed) == [true, false], "\(reports)")
    }
}
