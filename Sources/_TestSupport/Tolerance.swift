/// The element of `actual` farthest outside `|actual − expected| ≤ atol + rtol·|expected|`
/// (a NaN counts as infinitely far), or nil when every element is within it. Arrays of different
/// lengths are compared over their common prefix; callers check the counts themselves.
public func worstToleranceViolation(_ actual: [Float], _ expected: [Double], rtol: Double, atol: Double)
    -> (index: Int, actual: Float, expected: Double)? {
    var worst: (index: Int, excess: Double)? = nil
    for i in 0..<min(actual.count, expected.count) {
        let err = Swift.abs(Double(actual[i]) - expected[i])
        let bound = atol + rtol * Swift.abs(expected[i])
        if !(err <= bound) {
            let excess = err.isNaN ? .infinity : err - bound
            if worst == nil || excess > worst!.excess { worst = (i, excess) }
        }
    }
    return worst.map { ($0.index, actual[$0.index], expected[$0.index]) }
}
