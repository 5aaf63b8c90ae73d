import Foundation
import Testing
@testable import TensorKernels

func runUnary(_ op: UnaryKernel, _ xs: [Float]) -> [Float] {
    var y = [Float](repeating: .nan, count: xs.count)
    applyUnary(op, xs, &y, count: xs.count)
    return y
}

/// Max relative error with an absolute floor.
func maxRelError(_ got: [Float], _ want: [Double], floor: Double = 1e-30) -> Double {
    var e = 0.0
    for i in 0..<got.count {
        let w = want[i], g = Double(got[i])
        if w.isNaN { if !g.isNaN { return .infinity }; continue }
        if w.isInfinite { if g != w { return .infinity }; continue }
        if g.isNaN { return .infinity }   // `max` would drop it
        e = max(e, abs(g - w) / max(abs(w), floor))
    }
    return e
}

func sweep(_ lo: Double, _ hi: Double, _ n: Int) -> [Float] {
    (0..<n).map { Float(lo + (hi - lo) * Double($0) / Double(n - 1)) }
}

@Suite struct VectorMathTests {
    @Test func expAccuracy() {
        let xs = sweep(-87, 88.7, 20001) + [0, -0.0, 1e-8, -1e-8, 1e-30]
        let e = maxRelError(runUnary(.exp, xs), xs.map { Foundation.exp(Double($0)) })
        #expect(e < 1e-6, "exp rel error \(e)")
        // Subnormal results: relative to the subnormal spacing.
        let sub = sweep(-103, -87.5, 1001)
        let got = runUnary(.exp, sub)
        for (i, x) in sub.enumerated() {
            let w = Foundation.exp(Double(x))
            #expect(abs(Double(got[i]) - w) <= max(w * 1e-6, 2e-45))
        }
        let special = runUnary(.exp, [.infinity, -.infinity, .nan, 100, -200])
        #expect(special[0] == .infinity && special[1] == 0 && special[2].isNaN && special[3] == .infinity
                && special[4] == 0)
    }

    @Test func logAccuracy() {
        var xs = sweep(1e-6, 10, 10001) + sweep(0.5, 2, 10001)
        xs += (0..<2000).map { Float(pow(10.0, -44 + 82 * Double($0) / 1999)) }
        xs += [1, Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, 1.0000001, 0.9999999]
        let want = xs.map { Foundation.log(Double($0)) }
        let got = runUnary(.log, xs)
        for i in 0..<xs.count {
            let err = abs(Double(got[i]) - want[i])
            #expect(err <= 1e-6 * abs(want[i]) + 1.2e-7, "log(\(xs[i])) = \(got[i]) vs \(want[i])")
        }
        let special = runUnary(.log, [0, -1, .infinity, .nan])
        #expect(special[0] == -.infinity && special[1].isNaN && special[2] == .infinity && special[3].isNaN)
    }

    @Test func log1pAccuracy() {
        var xs = sweep(-0.999, 10, 20001)
        xs += (0..<2000).map { Float(pow(10.0, -30 + 36 * Double($0) / 1999)) }
        xs += (0..<2000).map { -Float(pow(10.0, -30 + 29.9 * Double($0) / 1999)) }
        xs += [1e30, 3e38]
        let e = maxRelError(runUnary(.log1p, xs), xs.map { Foundation.log1p(Double($0)) })
        #expect(e < 1e-6, "log1p rel error \(e)")
        let special = runUnary(.log1p, [-1, -2, .infinity, .nan])
        #expect(special[0] == -.infinity && special[1].isNaN && special[2] == .infinity && special[3].isNaN)
    }

    @Test func sigmoidTanhAccuracy() {
        let xs = sweep(-100, 100, 20001) + sweep(-1e-3, 1e-3, 1001) + [1e-20, -1e-20, 0]
        let sig = xs.map { x -> Double in let d = Double(x); return 1 / (1 + Foundation.exp(-d)) }
        #expect(maxRelError(runUnary(.sigmoid, xs), sig) < 2e-6)
        #expect(maxRelError(runUnary(.tanh, xs), xs.map { Foundation.tanh(Double($0)) }) < 2e-6)
        var y = [Float](repeating: 0, count: 4)
        sigmoidScaled([1e4, -1e4, 0, 1e-3], beta: 1e4, &y, count: 4)
        #expect(y[0] == 1 && y[1] == 0 && y[2] == 0.5 && abs(Double(y[3]) - 1 / (1 + Foundation.exp(-10.0))) < 1e-6)
    }

    /// Vectors whose lanes all have |x| > 17 take a shortcut in sigmoid and softplus; it must give
    /// the general path's values bit for bit. Each 16-lane block is evaluated twice: alone (all
    /// lanes large: shortcut) and with lane 0 set to 0.5 (general path for the whole vector).
    @Test func largeArgumentShortcutIsExact() {
        var rng = TestRNG(99)
        var blocks: [[Float]] = [[Float](repeating: 17.0001, count: 16), [Float](repeating: -17.0001, count: 16),
                                 [Float](repeating: 88, count: 16), [Float](repeating: -88, count: 16)]
        for _ in 0..<64 {
            blocks.append((0..<16).map { _ in
                let m = 17.0001 + abs(rng.uniform()) * (rng.uniform() > 0 ? 5 : 200)
                return rng.uniform() > 0 ? m : -m
            })
        }
        for block in blocks {
            var mixed = block
            mixed[0] = 0.5
            let xs = block + mixed
            var sig = [Float](repeating: .nan, count: 32), sp = [Float](repeating: .nan, count: 32)
            sigmoidScaled(xs, beta: 1, &sig, count: 32)
            softplusForward(xs, beta: 1, centered: false, &sp, count: 32)
            for l in 1..<16 {
                #expect(sig[l].bitPattern == sig[16 + l].bitPattern, "sigmoid(\(xs[l])): \(sig[l]) vs \(sig[16 + l])")
                #expect(sp[l].bitPattern == sp[16 + l].bitPattern, "softplus(\(xs[l])): \(sp[l]) vs \(sp[16 + l])")
            }
        }
    }

    @Test(arguments: [Float(1e-3), 1, 5, 1000, 1e4])
    func softplusAccuracy(_ beta: Float) {
        // βx swept densely over [−1e4, 1e4], plus a fine sweep near 0.
        var ts = sweep(-1e4, 1e4, 40001) + sweep(-30, 30, 20001) + sweep(-1e-3, 1e-3, 2001)
        ts += (0..<300).map { Float(pow(10.0, -30 + 29 * Double($0) / 299)) }
        let xs = ts.map { $0 / beta }
        for centered in [false, true] {
            var y = [Float](repeating: .nan, count: xs.count)
            softplusForward(xs, beta: beta, centered: centered, &y, count: xs.count)
            var worst = 0.0
            for i in 0..<xs.count {
                let t = Double(beta) * Double(xs[i])
                var sp = max(t, 0) + Foundation.log1p(Foundation.exp(-abs(t)))
                if centered { sp = max(t, 0) + Foundation.log1p(Foundation.expm1(-abs(t)) / 2) }
                let want = sp / Double(beta)
                let err = abs(Double(y[i]) - want)
                let ok = err <= 1e-5 * abs(want) || err <= 1e-6 * max(1, abs(want))
                if !ok { worst = max(worst, err / max(abs(want), 1e-300)) }
            }
            #expect(worst == 0, "softplus β=\(beta) centered=\(centered) worst rel error \(worst)")
        }
    }

    @Test func elementwise() {
        let xs: [Float] = [-2, -0.5, 0, -0.0, 0.5, 3, 17, -17, 1e-3, 100, 7, -7.5, 2, 4, 9, 16, 25, 0.25]
        #expect(runUnary(.sign, xs) == xs.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
        #expect(runUnary(.relu, xs) == xs.map { max($0, 0) })
        #expect(runUnary(.abs, xs) == xs.map { abs($0) })
        #expect(runUnary(.negate, xs) == xs.map { -$0 })
        #expect(runUnary(.square, xs) == xs.map { $0 * $0 })
        #expect(runUnary(.reciprocal, xs) == xs.map { 1 / $0 })
        #expect(runUnary(.sqrt, xs.map(abs)) == xs.map { abs($0).squareRoot() })
        let b: [Float] = xs.reversed()
        func bin(_ op: BinaryKernel, _ sb: Int = 1) -> [Float] {
            var y = [Float](repeating: 0, count: xs.count)
            applyBinary(op, xs, strideA: 1, b, strideB: sb, &y, count: xs.count)
            return y
        }
        #expect(bin(.add) == zip(xs, b).map { $0 + $1 })
        #expect(bin(.subtract) == zip(xs, b).map { $0 - $1 })
        #expect(bin(.multiply) == zip(xs, b).map { $0 * $1 })
        #expect(bin(.divide) == zip(xs, b).map { $0 / $1 })
        #expect(bin(.maximum) == zip(xs, b).map { max($0, $1) })
        #expect(bin(.minimum) == zip(xs, b).map { min($0, $1) })
        #expect(bin(.add, 0) == xs.map { $0 + b[0] })
        let pw = bin(.power)
        for i in 0..<xs.count {
            let want = Foundation.pow(Double(xs[i]), Double(b[i]))
            if want.isNaN { #expect(pw[i].isNaN) } else if want.isInfinite { #expect(pw[i] == Float(want)) } else {
                #expect(abs(Double(pw[i]) - want) <= 1e-5 * abs(want) + 1e-30, "pow(\(xs[i]), \(b[i]))")
            }
        }
        var z = [Float](repeating: 0, count: 4)
        applyBinary(.power, [0, 0, 0, -2], strideA: 1, [2, 0, -1, 3], strideB: 1, &z, count: 4)
        #expect(z == [0, 1, .infinity, -8])
    }

    @Test func largeParallelStreams() {
        let n = 300_001
        let xs = (0..<n).map { Float($0 % 2001) / 100 - 10 }
        let y = runUnary(.exp, xs)
        #expect(maxRelError(y, xs.map { Foundation.exp(Double($0)) }) < 1e-6)
        var s = [Float](repeating: 0, count: n)
        applyBinary(.multiply, xs, strideA: 1, [2], strideB: 0, &s, count: n)
        #expect(s == xs.map { $0 * 2 })
    }
}
