import Foundation
import Testing
@testable import Plotting

@Suite("Ticks")
struct TicksTests {
    @Test func linearTicksOfUnitIntervalAreNice() {
        let ticks = Ticks.linear(0...1)
        #expect(ticks == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    @Test func linearTicksStayInsideAndIncrease() {
        for range in [0.13...0.87, -3.7...12.2, 1e-4...3e-4, -1e6...1e6, 99.5...100.5] {
            let ticks = Ticks.linear(range)
            #expect(ticks.count >= 2, "\(range): \(ticks)")
            #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0 < $1 })
            #expect(ticks.allSatisfy { range.contains($0) }, "\(range): \(ticks)")
            let step = ticks[1] - ticks[0]
            let mantissa = step / pow(10, floor(log10(step)))
            #expect([1, 2, 5, 10].contains { abs(mantissa - Double($0)) < 1e-6 }, "step \(step)")
        }
    }

    @Test func degenerateRangesDoNotCrash() {
        #expect(Ticks.linear(2...2) == [2])
        #expect(Ticks.linear(0...Double.infinity).isEmpty)
        #expect(Ticks.log10(0...1).isEmpty)
    }

    @Test func logTicksAreDecades() {
        let ticks = Ticks.log10(1e-3...1e-1)
        #expect(ticks.count == 3)
        for (t, expected) in zip(ticks, [1e-3, 1e-2, 1e-1]) { #expect(abs(t / expected - 1) < 1e-12) }
        #expect(Ticks.log10(2...900) == [10, 100])
    }

    @Test func labelsAreCompact() {
        #expect(Ticks.label(0) == "0")
        #expect(Ticks.label(0.5) == "0.5")
        #expect(Ticks.label(10) == "10")
        #expect(Ticks.label(0.6000000000000001) == "0.6")
        #expect(Ticks.label(-2) == "-2")
        #expect(Ticks.label(1e-3) == "1e-3")
        #expect(Ticks.label(25000) == "2.5e+04")
        #expect(Ticks.label(0.01) == "0.01")
        #expect(Ticks.label(1e-12) == "1e-12")
        #expect(Ticks.label(.nan) == "NaN")
    }

    /// A range far narrower than its magnitude's precision gives distinct increasing ticks, not a pile of equal ones.
    @Test func ticksOfARangeBelowPrecisionStayDistinct() {
        let ticks = Ticks.linear(1e22...(1e22 + 2e6))
        #expect(!ticks.isEmpty && ticks.count < 20, "\(ticks.count) ticks")
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0 < $1 })
    }
}
