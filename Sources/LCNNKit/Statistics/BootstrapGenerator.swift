import Foundation

/// The seeded random source of the bootstrap: SplitMix64.
///
/// state ← state + 0x9E3779B97F4A7C15; z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9;
/// z ← (z ⊕ z≫27)·0x94D049BB133111EB; output z ⊕ z≫31.
/// The same seed gives the same stream on every platform and Swift version (unlike the
/// standard library's `random(in:using:)`, whose algorithm is not specified).
/// Reference: G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014; S. Vigna, splitmix64.c.
public struct BootstrapGenerator: RandomNumberGenerator, Sendable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n (n > 0), by Lemire's multiply-shift with rejection
    /// (D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019): unbiased.
    public mutating func nextIndex(below n: Int) -> Int {
        precondition(n > 0, "BootstrapGenerator.nextIndex: n must be positive")
        let bound = UInt64(n)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal draw (Box–Muller, cosine branch only).
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUnit()  // (0, 1]: log is finite
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
