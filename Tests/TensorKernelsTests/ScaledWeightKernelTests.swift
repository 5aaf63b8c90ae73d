import Testing
@testable import TensorKernels

@Suite("Scaled-weight kernels")
struct ScaledWeightKernelTests {
    /// Sizes below, at and above the SIMD widths and the parallel threshold (odd chunk edges).
    static let sizes = [0, 1, 15, 16, 17, 63, 64, 65, 1000, (1 << 17) - 1, (1 << 17) + 5, 300_001]

    @Test("innerProduct matches a Double reference", arguments: sizes)
    func innerProductMatches(_ n: Int) {
        var rng = TestRNG(UInt64(7 + n))
        let a = rng.array(n), b = rng.array(n)
        var reference = 0.0, magnitude = 0.0
        for i in 0..<n {
            reference += Double(a[i]) * Double(b[i])
            magnitude += abs(Double(a[i]) * Double(b[i]))
        }
        let got = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in innerProduct(ap.baseAddress!, bp.baseAddress!, count: n) }
        }
        #expect(abs(got - reference) <= 1e-6 * max(1, magnitude), "n=\(n): \(got) vs \(reference)")
    }

    @Test("linearCombination matches a scalar reference", arguments: sizes)
    func linearCombinationMatches(_ n: Int) {
        var rng = TestRNG(UInt64(11 + n))
        let x = rng.array(n), z = rng.array(n)
        let (alpha, beta): (Float, Float) = (0.37, -1.25)
        var y = [Float](repeating: .nan, count: n)
        x.withUnsafeBufferPointer { xp in
            z.withUnsafeBufferPointer { zp in
                y.withUnsafeMutableBufferPointer { yp in
                    linearCombination(alpha, xp.baseAddress!, beta, zp.baseAddress!, yp.baseAddress!, count: n)
                }
            }
        }
        var worst: Float = 0
        for i in 0..<n {
            let d = abs(y[i] - (alpha * x[i] + beta * z[i]))
            worst = d.isNaN ? .infinity : max(worst, d)   // `max` alone would drop a NaN
        }
        #expect(worst <= 1e-6, "n=\(n): worst error \(worst)")
    }
}
