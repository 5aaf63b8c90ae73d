/// The mask of inverted dropout, drawn by a counter-based generator: element `i` of a batch keeps
/// or drops as a pure function of (key, i), with no state carried from one element to the next.
///
/// With one 64-bit `key` per call and `φ = 0x9E3779B97F4A7C15` (2⁶⁴ over the golden ratio),
///
///     z = key + (i + 1)·φ            (mod 2⁶⁴)
///     z ^= z >> 30;  z *= 0xBF58476D1CE4E5B9
///     z ^= z >> 27;  z *= 0x94D049BB133111EB
///     z ^= z >> 31
///     u = ⌊z / 2⁴⁰⌋ · 2⁻²⁴           (the top 24 bits: a Float in [0, 1), exact)
///     mask[i] = u ≥ p ? 1/(1 − p) : 0
///
/// which is output i of SplitMix64 started at state `key` (its output function applied to its
/// (i+1)-th state), so each element's u is as uniform as a SplitMix64 output and P(keep) =
/// 1 − ⌈p·2²⁴⌉/2²⁴, within 2⁻²⁴ of 1 − p. Being stateless it needs no sequential pass: chunks
/// run on separate threads, eight elements per SIMD8<UInt64> vector, and a data-parallel
/// replica holding rows [r₀, r₁) of the global batch computes exactly those rows of the global
/// mask by starting at `firstIndex = r₀·(elements per row)` — nothing to skip.
///
/// The comparison runs on integers: `u ≥ p` ⇔ `⌊z / 2⁴⁰⌋ ≥ ⌈p·2²⁴⌉`, since p·2²⁴ is exact in
/// Float (a power-of-two scaling) and the left side is an integer.

/// Writes `mask[j]` for the elements `firstIndex + j`, `j` in `0..<count`, of a dropout mask with
/// drop probability `p` in [0, 1) and `key` (see above): 1/(1 − p) where kept, 0 where dropped.
public func dropoutMask(key: UInt64, probability p: Float, firstIndex: Int, count: Int,
                        _ mask: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("dropout")
    defer { span?.close() }
    dropoutChunks(DropoutMaskOnly(mask: mask), key: key, probability: p, firstIndex: firstIndex, count: count)
}

/// ``dropoutMask(key:probability:firstIndex:count:_:)`` and `y = x·mask` in the same pass.
public func dropoutForward(_ x: UnsafePointer<Float>, key: UInt64, probability p: Float, firstIndex: Int, count: Int,
                           mask: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("dropout")
    defer { span?.close() }
    dropoutChunks(DropoutMaskAndProduct(x: x, mask: mask, y: y), key: key, probability: p, firstIndex: firstIndex,
                  count: count)
}

/// 2⁶⁴/golden ratio: SplitMix64's state increment.
@usableFromInline let splitMixGamma: UInt64 = 0x9E37_79B9_7F4A_7C15

/// Below this many elements a call stays on one thread (20–30 µs of mixing on one core,
/// comparable with waking a worker).
@usableFromInline let dropoutMinimumWorkPerThread = 1 << 16

/// What a chunk writes for eight elements at `j` (and the low `lanes` of them at the tail).
protocol DropoutSink {
    func store(_ m: SIMD8<Float>, at j: Int)
    func storePartial(_ m: SIMD8<Float>, at j: Int, lanes: Int)
}

struct DropoutMaskOnly: DropoutSink {
    let mask: UnsafeMutablePointer<Float>
    @_transparent func store(_ m: SIMD8<Float>, at j: Int) {
        UnsafeMutableRawPointer(mask + j).storeBytes(of: m, as: SIMD8<Float>.self)
    }
    @_transparent func storePartial(_ m: SIMD8<Float>, at j: Int, lanes: Int) {
        for l in 0..<lanes { mask[j + l] = m[l] }
    }
}

struct DropoutMaskAndProduct: DropoutSink {
    let x: UnsafePointer<Float>
    let mask: UnsafeMutablePointer<Float>
    let y: UnsafeMutablePointer<Float>
    @_transparent func store(_ m: SIMD8<Float>, at j: Int) {
        UnsafeMutableRawPointer(mask + j).storeBytes(of: m, as: SIMD8<Float>.self)
        let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + j).storeBytes(of: v * m, as: SIMD8<Float>.self)
    }
    @_transparent func storePartial(_ m: SIMD8<Float>, at j: Int, lanes: Int) {
        for l in 0..<lanes {
            mask[j + l] = m[l]
            y[j + l] = x[j + l] * m[l]
        }
    }
}

/// Splits `0..<count` into chunks of whole 8-element blocks over the threads; each chunk starts
/// its counters at its own first index.
func dropoutChunks<Sink: DropoutSink>(_ sink: Sink, key: UInt64, probability p: Float, firstIndex: Int, count: Int) {
    precondition(p >= 0 && p < 1, "dropoutMask: probability must be in [0, 1), got \(p)")
    precondition(firstIndex >= 0 && count >= 0, "dropoutMask: negative index range")
    if count == 0 { return }
    let scale = 1 / (1 - p)
    // u ≥ p ⇔ top24 ≥ ⌈p·2²⁴⌉ (≤ 2²⁴, so an Int32).
    let threshold = Int32((p * 0x1p24).rounded(.up))
    let box = UnsafeSendableBox(sink)
    let blocks = (count + 7) / 8
    parallelFor(blocks, minimumWorkPerThread: max(1, dropoutMinimumWorkPerThread / 8)) { range in
        dropoutChunk(box.value, key: key, first: firstIndex, start: range.lowerBound * 8,
                     end: min(count, range.upperBound * 8), threshold: threshold, scale: scale)
    }
}

/// Elements `start..<end` (local indices; global index `first + j`).
@inline(never)
func dropoutChunk<Sink: DropoutSink>(_ sink: Sink, key: UInt64, first: Int, start: Int, end: Int,
                                     threshold: Int32, scale: Float) {
    let gamma = SIMD8<UInt64>(repeating: splitMixGamma)
    let lanes = SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7)
    // Counter of lane l at block j: key + (first + j + l + 1)·φ.
    var counter = SIMD8<UInt64>(repeating: key &+ (UInt64(first + start) &+ 1) &* splitMixGamma) &+ lanes &* gamma
    let step = SIMD8<UInt64>(repeating: 8 &* splitMixGamma)
    let t = SIMD8<Int32>(repeating: threshold)
    let zero = SIMD8<Float>(repeating: 0), keep = SIMD8<Float>(repeating: scale)
    @inline(__always) func values(_ c: SIMD8<UInt64>) -> SIMD8<Float> {
        var z = c
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z &>> 31)
        let top = SIMD8<Int32>(truncatingIfNeeded: z &>> 40)
        return zero.replacing(with: keep, where: top .>= t)
    }
    var j = start
    while j + 8 <= end {
        sink.store(values(counter), at: j)
        counter &+= step
        j += 8
    }
    if j < end { sink.storePartial(values(counter), at: j, lanes: end - j) }
}
