import Testing
import TensorCore
import _TestSupport

/// Every primitive in ``Op`` has a first- and second-order gradient check: its entry in
/// ``OpCatalogue`` must record it, and pass `GradCheck` at both orders. A piecewise-constant op
/// must record nothing (no gradient flows through it).
@Suite("Op coverage")
struct OpCoverageTests {
    @Test("every Op has first- and second-order gradient checks", arguments: Op.allCases)
    func covered(_ op: Op) {
        guard let check = OpCatalogue.entries[op] else {
            Issue.record("Op.\(op.rawValue) has no entry in OpCatalogue: no first- and second-order gradient check")
            return
        }
        let output = check.f(check.inputs().map { $0.copy().requiringGrad() })
        if op.isPiecewiseConstant {
            #expect(!output.requiresGrad && output.node == nil, "Op.\(op.rawValue) is piecewise constant but was recorded")
            return
        }
        #expect(recordedOps(output).contains(op), "Op.\(op.rawValue): its catalogue entry does not record it")
        expectGradCheck(check.inputs(), "Op.\(op.rawValue)", check.f)
    }
}
