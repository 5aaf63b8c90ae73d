import Foundation
import TensorKernels

/// Deterministic pseudo-random floats in [-1, 1) (SplitMix64).
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in uniform() } }
}

/// Max |a − b| / max(1, max |b|): the error of a Float result against a double-precision
/// reference, relative to the reference's scale.
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    var err = 0.0, scale = 1.0
    for i in 0..<b.count {
        let d = abs(Double(a[i]) - b[i])
        // `max` drops a NaN (NaN > err is false), so a result holding NaNs would have passed.
        if !d.isFinite { return .infinity }
        err = max(err, d)
        scale = max(scale, abs(b[i]))
    }
    return err / scale
}

/// A seed from a convolution geometry's fields, the same in every run (`hashValue` is seeded per
/// process, so seeding with it made the data, and the rounding, differ from run to run).
func geometrySeed(_ g: Conv2dGeometry) -> UInt64 {
    let fields = [g.batch, g.inChannels, g.inHeight, g.inWidth, g.outChannels, g.kernelHeight, g.kernelWidth,
                  g.strideHeight, g.strideWidth, g.paddingHeight, g.paddingWidth]
    return fields.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64(bitPattern: Int64($1))) &* 1_099_511_628_211 } | 1
}
