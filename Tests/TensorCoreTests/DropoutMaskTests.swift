import Foundation
import Testing
import TensorCore
import TensorKernels
import _TestSupport

/// The counter-based dropout mask: the SIMD, multi-threaded kernel against a scalar transcription
/// of its formula (odd counts, nonzero first indices, chunks on several threads), the statistics
/// of the kept fraction, and how `dropout` draws its key from the layer's generator.
@Suite("Dropout: counter-based mask")
struct DropoutMaskTests {
    /// The formula, one element at a time: SplitMix64's output function of key + (i+1)·φ, its
    /// top 24 bits as u in [0, 1); kept (1/(1 − p)) where u ≥ p.
    static func referenceMask(key: UInt64, probability p: Float, index: Int) -> Float {
        var z = key &+ (UInt64(index) &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Float(z >> 40) * 0x1p-24
        return u >= p ? 1 / (1 - p) : 0
    }

    /// How many elements of `a` and `b` differ and the first that does (compared outside
    /// `#expect`, whose failure message would otherwise print arrays of 10⁵ values).
    static func mismatches(_ a: [Float], _ b: [Float]) -> (count: Int, first: Int) {
        guard a.count == b.count else { return (Swift.max(a.count, b.count), -1) }
        let wrong = a.indices.filter { a[$0] != b[$0] }
        return (wrong.count, wrong.first ?? -1)
    }

    @Test("the kernel equals the scalar formula element for element: counts that are not multiples of 8, nonzero first indices, one and several threads",
          arguments: [(1, 0), (7, 3), (8, 0), (13, 5), (1003, 123_457), (200_003, 0), (300_001, 987_654_321)],
          [1, 2, 3])
    func kernelMatchesReference(_ size: (count: Int, first: Int), _ threads: Int) {
        let (count, first) = size
        let key: UInt64 = 0xD1B5_4A32_D192_ED03 &+ UInt64(count)
        for p: Float in [0.3, 0.5, 0.25] {
            let x = (0..<count).map { Float($0 % 17) - 8.5 }
            var mask = [Float](repeating: -1, count: count), y = [Float](repeating: -1, count: count)
            var maskOnly = [Float](repeating: -1, count: count)
            KernelSettings.with({ $0.threads = threads }) {
                maskOnly.withUnsafeMutableBufferPointer {
                    dropoutMask(key: key, probability: p, firstIndex: first, count: count, $0.baseAddress!)
                }
                x.withUnsafeBufferPointer { xp in
                    mask.withUnsafeMutableBufferPointer { mp in
                        y.withUnsafeMutableBufferPointer { yp in
                            dropoutForward(xp.baseAddress!, key: key, probability: p, firstIndex: first, count: count,
                                           mask: mp.baseAddress!, yp.baseAddress!)
                        }
                    }
                }
            }
            let reference = (0..<count).map { Self.referenceMask(key: key, probability: p, index: first + $0) }
            for (name, values, expected) in [("dropoutMask", maskOnly, reference), ("dropoutForward's mask", mask, reference),
                                             ("dropoutForward's x·mask", y, zip(x, reference).map { $0 * $1 })] {
                let (wrong, at) = Self.mismatches(values, expected)
                #expect(wrong == 0, "p \(p), \(name): \(wrong) of \(count) elements differ, the first at \(at)")
            }
        }
    }

    @Test("the kept fraction over 10⁵ elements is within 5σ of 1 − p (binomial)", arguments: [Float(0.25), 0.5])
    func keptFraction(_ p: Float) {
        let n = 100_000
        for seed: UInt64 in [1, 2, 3] {
            var g = SeededGenerator(seed: seed)
            let y = dropout(Tensor.ones([n]), probability: p, training: true, generator: &g).scalars
            let scaled = y.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) }
            #expect(scaled, "seed \(seed): a value neither 0 nor 1/(1 − p)")
            let kept = Double(y.filter { $0 != 0 }.count)
            let mean = Double(n) * Double(1 - p), sigma = (Double(n) * Double(p) * Double(1 - p)).squareRoot()
            #expect(Swift.abs(kept - mean) <= 5 * sigma, "seed \(seed): kept \(kept), expected \(mean) ± \(5 * sigma)")
        }
    }

    @Test("one key per call from the generator: the mask is the formula with key = generator.next(); successive calls differ; the same seed repeats")
    func keyFromGenerator() {
        let x = Tensor.ones([3, 1001])
        var g = SeededGenerator(seed: 77)
        var keys = SeededGenerator(seed: 77)
        let first = dropout(x, probability: 0.5, training: true, generator: &g).scalars
        let second = dropout(x, probability: 0.5, training: true, generator: &g).scalars
        let firstKey = keys.next(), secondKey = keys.next()
        let firstWrong = Self.mismatches(first, (0..<x.count).map { Self.referenceMask(key: firstKey, probability: 0.5, index: $0) })
        let secondWrong = Self.mismatches(second, (0..<x.count).map { Self.referenceMask(key: secondKey, probability: 0.5, index: $0) })
        #expect(firstWrong.count == 0 && secondWrong.count == 0,
                "\(firstWrong.count) and \(secondWrong.count) elements differ from the formula")
        let differ = first != second
        #expect(differ)
        // Half the elements agree between two independent masks at p = ½, not all of them.
        let agree = zip(first, second).filter { $0 == $1 }.count
        #expect(Swift.abs(Double(agree) / Double(x.count) - 0.5) < 0.05, "agreement \(agree) of \(x.count)")
        // The generator advanced by exactly one draw per call, whatever the size.
        #expect(g.next() == keys.next())
        var again = SeededGenerator(seed: 77)
        let repeated = dropout(x, probability: 0.5, training: true, generator: &again).scalars == first
        #expect(repeated)
    }

    @Test("dropout is one kernel call, profiled as \"dropout\" (the product is in the same pass)")
    func profiledAsOneKernel() {
        let profile = KernelProfile()
        var g = SeededGenerator(seed: 5)
        let x = Fixtures.normal([4, 300], seed: 6)
        _ = profile.recording { dropout(x, probability: 0.25, training: true, generator: &g) }
        #expect(profile.entries.keys.sorted() == ["dropout"])
        #expect(profile.entries["dropout"]?.calls == 1)
    }
}
