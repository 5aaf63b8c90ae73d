// SIMD16 polynomial transcendental functions and streaming elementwise kernels.
//
// exp:   x = n·ln2 + r, |r| ≤ ln2/2 (Cody–Waite split of ln2), exp(r) by a degree-7 minimax-style
//        polynomial (Cephes coefficients), 2ⁿ built from exponent bits in two halves so results
//        down to the subnormal range are exact-scaled. Max relative error ≈ 1.5e-7.
// expm1: same reduction; expm1(x) = 2ⁿ·q(r) + (2ⁿ − 1) with q(r) = expm1(r) (no cancellation).
// log:   x = 2ᵉ·m, m ∈ [√½, √2), log(x) = e·ln2 + log1p(m − 1) by the Cephes polynomial.
// log1p: u = 1 + x, log1p(x) = log(u) + (x − (u − 1))/u (rounding-error correction).
// Special values follow libm: exp(+inf) = inf, exp(−inf) = 0, log(0) = −inf, log(<0) = NaN,
// NaN propagates.

import Foundation

public typealias Vec16 = SIMD16<Float>

@_transparent func bits(_ x: Vec16) -> SIMD16<Int32> { unsafeBitCast(x, to: SIMD16<Int32>.self) }
@_transparent func floats(_ x: SIMD16<Int32>) -> Vec16 { unsafeBitCast(x, to: Vec16.self) }

/// Largest x whose eˣ is finite in Float, and smallest x whose eˣ is a normal Float (ln 2⁻¹²⁶).
@usableFromInline let expOverflow: Float = 88.72283905206835
@usableFromInline let expNormalMin: Float = -87.33654475

/// Shared range reduction for x already clamped to [−87.34, 88.73]: x ≈ n·ln2 + r with
/// |r| ≤ ln2/2 (Cody–Waite two-constant ln2); returns r and 2ⁿ as the product of two normal
/// scale factors 2^⌊n/2⌋ · 2^(n−⌊n/2⌋), so no intermediate is ever subnormal (subnormal
/// arithmetic costs ~100× on this CPU).
@_transparent
func expReduce(_ xc: Vec16) -> (r: Vec16, scaleA: Vec16, scaleB: Vec16) {
    let magic: Float = 12582912 // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits
    let t = xc * 1.44269504088896341 + magic
    let nf = t - magic
    let n = bits(t) &- bits(Vec16(repeating: magic))
    var r = xc.addingProduct(nf, Vec16(repeating: -0.693359375))
    r = r.addingProduct(nf, Vec16(repeating: 2.12194440e-4))
    let n1 = n &>> 1
    let n2 = n &- n1
    let sA = floats((n1 &+ 127) &<< 23)
    let sB = floats((n2 &+ 127) &<< 23)
    return (r, sA, sB)
}

@_transparent
func clampExpArgument(_ x: Vec16, low: Float) -> Vec16 {
    x.replacing(with: Vec16(repeating: expOverflow), where: x .> expOverflow)
        .replacing(with: Vec16(repeating: low), where: x .< low)
}

/// Polynomial for (exp(r) − 1 − r)/r², |r| ≤ ln2/2 (Cephes expf coefficients).
@_transparent
func expPoly(_ r: Vec16) -> Vec16 {
    var p = Vec16(repeating: 1.9875691500e-4)
    p = Vec16(repeating: 1.3981999507e-3).addingProduct(p, r)
    p = Vec16(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = Vec16(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = Vec16(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = Vec16(repeating: 5.0000001201e-1).addingProduct(p, r)
    return p
}

/// eˣ flushed to 0 below the normal range (x < −87.34, where eˣ < 1.18e-38); +inf above
/// 88.72; NaN → NaN. Relative error ≈ 1.5e-7 elsewhere. Used inside composite functions where
/// an absolute error below 1.2e-38 is irrelevant and subnormal slow paths must be avoided.
@_transparent
func vexpFlush(_ x: Vec16) -> Vec16 {
    // Lanes below the normal range are overwritten with 0 at the end; they are reduced as x = 0
    // meanwhile, because clamping them to expNormalMin can round to a subnormal product
    // (2⁻¹²⁶·e^r with r < 0), and every subnormal result costs a microcode assist.
    let xs = x.replacing(with: 0, where: x .< expNormalMin)
    let (r, sA, sB) = expReduce(clampExpArgument(xs, low: expNormalMin))
    var y = (r + 1).addingProduct(expPoly(r), r * r) * sA * sB
    y = y.replacing(with: .infinity, where: x .> expOverflow)
    y = y.replacing(with: 0, where: x .< expNormalMin)
    return y.replacing(with: x, where: x .!= x)
}

/// exp(x) for 16 lanes; max relative error ≈ 1.5e-7; overflow → +inf, results in the subnormal
/// range are computed exactly (by a rarely taken scalar path), exp(−inf) = 0, NaN → NaN.
@_transparent
func vexpImpl(_ x: Vec16) -> Vec16 {
    var y = vexpFlush(x)
    let sub = x .< expNormalMin
    if any(sub) {
        for l in 0..<16 where sub[l] { y[l] = Foundation.exp(x[l]) }
    }
    return y
}

/// expm1(x) = eˣ − 1 for 16 lanes, accurate (≈ 2e-7 relative) also for tiny |x|, computed as
/// 2ⁿ·expm1(r) + (2ⁿ − 1) (no cancellation). x < −80 gives −1 (exact in Float).
@_transparent
func vexpm1Impl(_ x: Vec16) -> Vec16 {
    let (r, sA, sB) = expReduce(clampExpArgument(x, low: -80))
    let q = r.addingProduct(expPoly(r), r * r)   // expm1(r)
    let s = sA * sB                              // 2ⁿ
    var y = (s - 1).addingProduct(q, s)
    y = y.replacing(with: .infinity, where: x .> expOverflow)
    y = y.replacing(with: -1, where: x .< -80)
    return y.replacing(with: x, where: x .!= x)
}

/// log1p(f) polynomial core for f = m − 1 ∈ [√½ − 1, √2 − 1], with exponent e:
/// returns e·ln2 + log(1 + f).
@_transparent
func logCore(_ f: Vec16, _ e: Vec16) -> Vec16 {
    let z = f * f
    var p = Vec16(repeating: 7.0376836292e-2)
    p = Vec16(repeating: -1.1514610310e-1).addingProduct(p, f)
    p = Vec16(repeating: 1.1676998740e-1).addingProduct(p, f)
    p = Vec16(repeating: -1.2420140846e-1).addingProduct(p, f)
    p = Vec16(repeating: 1.4249322787e-1).addingProduct(p, f)
    p = Vec16(repeating: -1.6668057665e-1).addingProduct(p, f)
    p = Vec16(repeating: 2.0000714765e-1).addingProduct(p, f)
    p = Vec16(repeating: -2.4999993993e-1).addingProduct(p, f)
    p = Vec16(repeating: 3.3333331174e-1).addingProduct(p, f)
    var y = p * (f * z)
    y = y.addingProduct(e, Vec16(repeating: -2.12194440e-4))
    y = y.addingProduct(z, Vec16(repeating: -0.5))
    return (f + y).addingProduct(e, Vec16(repeating: 0.693359375))
}

/// Splits positive finite x into m ∈ [√½, √2) and e with x = m·2ᵉ; returns (m − 1, e).
@_transparent
func logReduce(_ x: Vec16) -> (f: Vec16, e: Vec16) {
    // Scale subnormals into the normal range first.
    let tiny = x .< Float.leastNormalMagnitude
    let xs = x.replacing(with: x * 8388608, where: tiny)
    let b = bits(xs)
    // Biased exponent (0…255) → float via the magic-number trick (generic Int→Float SIMD
    // conversion is ~100× slower): bits 0x4B00_0000 | k encode 2²³ + k exactly.
    var e = floats((b &>> 23) | 0x4B00_0000) - (8388608 + 126)
    e = e.replacing(with: e - 23, where: tiny)
    var m = floats((b & 0x007F_FFFF) | 0x3F00_0000)   // [0.5, 1)
    let small = m .< 0.707106781186547524
    e = e.replacing(with: e - 1, where: small)
    m = m.replacing(with: m + m, where: small)
    return (m - 1, e)
}

/// Natural logarithm for 16 lanes; max relative error ≈ 2e-7 (absolute ≈ 1e-7 near x = 1);
/// log(0) = −inf, log(x < 0) = NaN, log(+inf) = +inf, NaN → NaN.
@_transparent
func vlogImpl(_ x: Vec16) -> Vec16 {
    let (f, e) = logReduce(x)
    var y = logCore(f, e)
    y = y.replacing(with: .infinity, where: x .== .infinity)
    y = y.replacing(with: -.infinity, where: x .== 0)
    y = y.replacing(with: .nan, where: x .< 0)
    return y.replacing(with: x, where: x .!= x)
}

/// log(1 + x) for 16 lanes, accurate for tiny |x| (relative error ≈ 2e-7);
/// log1p(−1) = −inf, log1p(x < −1) = NaN, log1p(+inf) = +inf, NaN → NaN.
@_transparent
func vlog1pImpl(_ x: Vec16) -> Vec16 {
    let u = x + 1
    let (f, e) = logReduce(u)
    // Rounding-error correction of u = 1 + x: log(1 + x) ≈ log(u) + (x − (u − 1))/u.
    let c = (x - (u - 1)) / u
    var y = logCore(f, e) + c.replacing(with: 0, where: u .== .infinity)
    y = y.replacing(with: .infinity, where: u .== .infinity)
    y = y.replacing(with: -.infinity, where: u .== 0)
    y = y.replacing(with: .nan, where: u .< 0)
    return y.replacing(with: x, where: x .!= x)
}

/// Logistic sigmoid σ(x) = 1/(1 + e⁻ˣ), computed from e = exp(−|x|) as 1/(1+e) or e/(1+e):
/// no overflow for any x.
@_transparent
func vsigmoidImpl(_ x: Vec16) -> Vec16 {
    let a = abs16(x)
    let e = vexpFlush(-a)
    // |x| > 17: e < 2⁻²⁴, so 1 + e rounds to 1 and the result is exactly 1 or e; skipping the
    // division changes no bit (common for softplus derivatives with a large β).
    if allLanes(a .> 17) { return Vec16(repeating: 1).replacing(with: e, where: x .< 0) }
    let d = 1 / (1 + e)
    return d.replacing(with: e * d, where: x .< 0)
}

/// tanh(x) = −expm1(−2|x|) / (2 + expm1(−2|x|)) · sign(x): accurate for small and large |x|.
@_transparent
func vtanhImpl(_ x: Vec16) -> Vec16 {
    let a = abs16(x)
    let em = vexpm1Impl(-2 * a)
    let t = -em / (2 + em)
    return floats(bits(t) | (bits(x) & Int32(bitPattern: 0x8000_0000)))
}

@_transparent func abs16(_ x: Vec16) -> Vec16 { floats(bits(x) & 0x7FFF_FFFF) }

/// Whether every lane of `m` is set, by halving ANDs of the lanes' bits: the standard library's
/// `all` reduces through a generic function that is emitted in one source file only, so kernels in
/// other files (the fused batch norm) called it once per vector instead of inlining a mask test.
@_transparent func allLanes(_ m: SIMDMask<SIMD16<Int32>>) -> Bool {
    let b = unsafeBitCast(m, to: SIMD16<Int32>.self)
    let h8 = b.lowHalf & b.highHalf
    let h4 = h8.lowHalf & h8.highHalf
    let h2 = h4.lowHalf & h4.highHalf
    return (h2[0] & h2[1]) != 0
}

/// softplus core on t = βx:
///   plain:    max(t, 0) + log1p(e^{−|t|})
///   centered: max(t, 0) + log1p(expm1(−|t|)/2)   (= softplus(t) − log 2 without cancellation)
/// Specialised for these argument ranges (about half the instructions of composing the general
/// functions): the exponential's argument s = −|t| ≤ 0 needs one scale factor, the log1p argument
/// w ∈ (−½, 1] gives u = 1 + w ∈ (½, 2], and the rounding correction (w − (u − 1))/u is weighted
/// by 2 − u ≈ 1/u, exact enough because the correction is below one ulp of u and only matters
/// near u = 1. |t| beyond the normal range of eˢ flushes e^{−|t|} to 0 (absolute error < 1.2e-38).
@_transparent
func softplusCore(_ t: Vec16, centered: Bool) -> Vec16 {
    let a = abs16(t)
    let lowest: Float = centered ? 80 : 87.33654475
    // Lanes with a > lowest get w = −½ or 0 below; they are reduced as 0 meanwhile (not as
    // −lowest: 2⁻¹²⁶·e^r with r < 0 would be a subnormal, and each costs a microcode assist).
    let sc = -(a.replacing(with: Vec16(repeating: 0), where: a .> lowest))
    // e^{sc} = 2ⁿ·e^{r}, n ∈ [−126, 0].
    let magic: Float = 12582912
    let tt = sc * 1.44269504088896341 + magic
    let nf = tt - magic
    var r = sc.addingProduct(nf, Vec16(repeating: -0.693359375))
    r = r.addingProduct(nf, Vec16(repeating: 2.12194440e-4))
    let scale = floats((bits(tt) &- (bits(Vec16(repeating: magic)) &- 127)) &<< 23)
    let q = r.addingProduct(expPoly(r), r * r)            // expm1(r)
    var w: Vec16
    if centered {
        w = ((scale - 1).addingProduct(q, scale)) * 0.5     // expm1(sc)/2 ∈ (−½, 0]
        w = w.replacing(with: -0.5, where: a .> lowest)
    } else {
        w = scale.addingProduct(q, scale)                   // e^{sc} ∈ (0, 1]
        w = w.replacing(with: 0, where: a .> lowest)
        // |t| > 17: w < 2⁻²⁴, so u = 1 + w rounds to 1, log(u) = 0 and the correction is w; the
        // result max(t, 0) + w is what the general path below computes, bit for bit, without
        // the logarithm (most vectors for a large β).
        if allLanes(a .> 17) { return t.replacing(with: 0, where: t .< 0) + w }
    }
    // log1p(w) = 2·atanh(s) with s = w/(2 + w) ∈ (−⅓, ⅓] for w ∈ (−½, 1]: the odd series
    // 2s·(1 + s²/3 + s⁴/5 + … + s¹²/13), truncated where the next term is below 2⁻²⁶ relative
    // (s² ≤ 1/9). No range reduction is needed on this interval, and when w < 2⁻²⁴ the
    // correction 2s·s²·p rounds away, so the result is w exactly (as the shortcut above).
    let sw = w / (w + 2)
    let z = sw * sw
    var p = Vec16(repeating: 1 / 13)
    p = Vec16(repeating: 1 / 11).addingProduct(p, z)
    p = Vec16(repeating: 1 / 9).addingProduct(p, z)
    p = Vec16(repeating: 1 / 7).addingProduct(p, z)
    p = Vec16(repeating: 1 / 5).addingProduct(p, z)
    p = Vec16(repeating: 1 / 3).addingProduct(p, z)
    let s2 = sw + sw
    let l = s2.addingProduct(s2 * z, p)
    return t.replacing(with: 0, where: t .< 0) + l
}

// MARK: - Public SIMD16 entry points (thin wrappers over the always-inlined implementations)

/// eˣ per lane; relative error ≈ 1.5e-7, subnormal results exact, overflow → +inf, NaN → NaN.
@inline(__always) public func vexp(_ x: Vec16) -> Vec16 { vexpImpl(x) }
/// eˣ − 1 per lane, accurate for tiny |x| (relative error ≈ 2e-7).
@inline(__always) public func vexpm1(_ x: Vec16) -> Vec16 { vexpm1Impl(x) }
/// ln x per lane (relative error ≈ 2e-7; log 0 = −inf, log(x<0) = NaN).
@inline(__always) public func vlog(_ x: Vec16) -> Vec16 { vlogImpl(x) }
/// ln(1 + x) per lane, accurate for tiny |x| (relative error ≈ 2e-7).
@inline(__always) public func vlog1p(_ x: Vec16) -> Vec16 { vlog1pImpl(x) }
/// σ(x) = 1/(1 + e⁻ˣ) per lane, no overflow for any x.
@inline(__always) public func vsigmoid(_ x: Vec16) -> Vec16 { vsigmoidImpl(x) }
/// tanh x per lane, accurate near 0 and saturating for large |x|.
@inline(__always) public func vtanh(_ x: Vec16) -> Vec16 { vtanhImpl(x) }

// MARK: - Streaming drivers
//
// Each operation is a small struct conforming to a protocol, so that the chunk loops below are
// specialised per operation with the SIMD body inlined (a closure would be called per vector,
// and SIMD16 arguments cross calls as four xmm pieces: ~10× slower).

/// Minimum elements per thread before a streaming kernel forks: ~25 µs of work.
@usableFromInline let streamingMinCheap = 1 << 17
@usableFromInline let streamingMinHeavy = 1 << 15

protocol UnaryVectorOp { func apply(_ v: Vec16) -> Vec16 }
protocol BinaryVectorOp { func apply(_ a: Vec16, _ b: Vec16) -> Vec16 }

@inline(never)
func streamChunk<Op: UnaryVectorOp>(_ op: Op, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    _ start: Int, _ end: Int) {
    var i = start
    let src = UnsafeRawPointer(x)
    let dst = UnsafeMutableRawPointer(y)
    // Two independent vectors per step so the long polynomial dependency chains overlap.
    while i + 32 <= end {
        let v0 = src.loadUnaligned(fromByteOffset: i * 4, as: Vec16.self)
        let v1 = src.loadUnaligned(fromByteOffset: i * 4 + 64, as: Vec16.self)
        let r0 = op.apply(v0), r1 = op.apply(v1)
        dst.storeBytes(of: r0, toByteOffset: i * 4, as: Vec16.self)
        dst.storeBytes(of: r1, toByteOffset: i * 4 + 64, as: Vec16.self)
        i += 32
    }
    while i + 16 <= end {
        let v = src.loadUnaligned(fromByteOffset: i * 4, as: Vec16.self)
        dst.storeBytes(of: op.apply(v), toByteOffset: i * 4, as: Vec16.self)
        i += 16
    }
    if i < end { storePartial(op.apply(loadPartial(x + i, end - i)), y + i, end - i) }
}

/// The first `count` (< 16) floats at `p` in the low lanes, zeros above: a row's tail as one vector.
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ count: Int) -> Vec16 {
    var v = Vec16(repeating: 0)
    for l in 0..<count { v[l] = p[l] }
    return v
}

/// Stores the low `count` (< 16) lanes of `v` at `p`.
@inline(__always) func storePartial(_ v: Vec16, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    for l in 0..<count { p[l] = v[l] }
}

@inline(never)
func streamChunk2<Op: BinaryVectorOp>(_ op: Op, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>,
                                      _ sb: Int, _ y: UnsafeMutablePointer<Float>, _ start: Int, _ end: Int) {
    var i = start
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let dst = UnsafeMutableRawPointer(y)
    let aScalar = Vec16(repeating: a[0]), bScalar = Vec16(repeating: b[0])
    while i + 16 <= end {
        let va = sa == 0 ? aScalar : ra.loadUnaligned(fromByteOffset: i * 4, as: Vec16.self)
        let vb = sb == 0 ? bScalar : rb.loadUnaligned(fromByteOffset: i * 4, as: Vec16.self)
        dst.storeBytes(of: op.apply(va, vb), toByteOffset: i * 4, as: Vec16.self)
        i += 16
    }
    if i < end {
        var va = aScalar, vb = bScalar
        for l in 0..<(end - i) {
            if sa != 0 { va[l] = a[i + l] }
            if sb != 0 { vb[l] = b[i + l] }
        }
        let r = op.apply(va, vb)
        for l in 0..<(end - i) { y[i + l] = r[l] }
    }
}

/// y[i] = op(x[i]) over 0..<count, forked over the kernel threads when count ≥ 2·minWork.
func stream1<Op: UnaryVectorOp>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int,
                                minWork: Int, _ op: Op) {
    if count <= 0 { return }
    if count < 2 * minWork {
        streamChunk(op, x, y, 0, count)
        return
    }
    let yp = SendablePointer(y)
    let blocks = (count + 15) / 16
    parallelFor(blocks, minimumWorkPerThread: max(1, minWork / 16)) { range in
        streamChunk(op, x, yp.p, range.lowerBound * 16, min(count, range.upperBound * 16))
    }
}

func stream2<Op: BinaryVectorOp>(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                                 _ y: UnsafeMutablePointer<Float>, _ count: Int, minWork: Int, _ op: Op) {
    if count <= 0 { return }
    if count < 2 * minWork {
        streamChunk2(op, a, sa, b, sb, y, 0, count)
        return
    }
    let yp = SendablePointer(y)
    let blocks = (count + 15) / 16
    parallelFor(blocks, minimumWorkPerThread: max(1, minWork / 16)) { range in
        streamChunk2(op, a, sa, b, sb, yp.p, range.lowerBound * 16, min(count, range.upperBound * 16))
    }
}

struct OpIdentity: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { v } }
struct OpExp: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { vexpImpl(v) } }
struct OpLog: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { vlogImpl(v) } }
struct OpLog1p: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { vlog1pImpl(v) } }
struct OpAbs: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { abs16(v) } }
struct OpNegate: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { -v } }
struct OpSign: UnaryVectorOp {
    @_transparent func apply(_ v: Vec16) -> Vec16 {
        let one = Vec16(repeating: 1)
        let s = Vec16(repeating: 0).replacing(with: one, where: v .> 0).replacing(with: -one, where: v .< 0)
        return s.replacing(with: v, where: v .!= v)
    }
}
struct OpSigmoid: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { vsigmoidImpl(v) } }
struct OpTanh: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { vtanhImpl(v) } }
struct OpRelu: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { v.replacing(with: 0, where: v .< 0) } }
struct OpReciprocal: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { 1 / v } }
struct OpSquare: UnaryVectorOp { @_transparent func apply(_ v: Vec16) -> Vec16 { v * v } }
struct OpSoftplus: UnaryVectorOp {
    let beta: Float, invBeta: Float
    @_transparent func apply(_ v: Vec16) -> Vec16 { softplusCore(v * beta, centered: false) * invBeta }
}
struct OpSoftplusCentered: UnaryVectorOp {
    let beta: Float, invBeta: Float
    @_transparent func apply(_ v: Vec16) -> Vec16 { softplusCore(v * beta, centered: true) * invBeta }
}
struct OpSigmoidScaled: UnaryVectorOp {
    let beta: Float
    @_transparent func apply(_ v: Vec16) -> Vec16 { vsigmoidImpl(v * beta) }
}

struct OpAdd: BinaryVectorOp { @_transparent func apply(_ a: Vec16, _ b: Vec16) -> Vec16 { a + b } }
struct OpSub: BinaryVectorOp { @_transparent func apply(_ a: Vec16, _ b: Vec16) -> Vec16 { a - b } }
struct OpMul: BinaryVectorOp { @_transparent func apply(_ a: Vec16, _ b: Vec16) -> Vec16 { a * b } }
struct OpDiv: BinaryVectorOp { @_transparent func apply(_ a: Vec16, _ b: Vec16) -> Vec16 { a / b } }
struct OpMax: BinaryVectorOp {
    @_transparent func apply(_ u: Vec16, _ v: Vec16) -> Vec16 {
        let m = u.replacing(with: v, where: v .> u)
        return m.replacing(with: u + v, where: (u .!= u) .| (v .!= v))
    }
}
struct OpMin: BinaryVectorOp {
    @_transparent func apply(_ u: Vec16, _ v: Vec16) -> Vec16 {
        let m = u.replacing(with: v, where: v .< u)
        return m.replacing(with: u + v, where: (u .!= u) .| (v .!= v))
    }
}
struct OpPow: BinaryVectorOp {
    @_transparent func apply(_ u: Vec16, _ v: Vec16) -> Vec16 {
        let fast = (u .> 0) .& (u .< .infinity) .& (abs16(v) .< .infinity)
        var r = vexpImpl(v * vlogImpl(u))
        if !all(fast) {
            for l in 0..<16 where !fast[l] { r[l] = powf(u[l], v[l]) }
        }
        return r
    }
}

/// √x, as a plain scalar loop (LLVM vectorises llvm.sqrt into vsqrtps; SIMD16.squareRoot()
/// is lowered to one sqrtf call per lane).
@inline(never)
func sqrtChunk(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ start: Int, _ end: Int) {
    for i in start..<end { y[i] = x[i].squareRoot() }
}

// MARK: - Public streaming kernels

/// Elementwise unary operations for `applyUnary`.
public enum UnaryKernel: Sendable {
    /// eˣ
    case exp
    /// ln x (NaN for x < 0, −inf at 0)
    case log
    /// ln(1 + x)
    case log1p
    /// √x
    case sqrt
    /// |x|
    case abs
    /// −x
    case negate
    /// sign(x) ∈ {−1, 0, 1} (sign(0) = 0, NaN → NaN)
    case sign
    /// σ(x) = 1/(1 + e⁻ˣ)
    case sigmoid
    /// tanh x
    case tanh
    /// max(x, 0)
    case relu
    /// 1/x
    case reciprocal
    /// x²
    case square
}

/// y[i] = op(x[i]) for i < count (x and y may be the same buffer). SIMD16 polynomials for the
/// transcendental functions (relative error ≲ 3e-7); parallel over both cores for large counts.
public func applyUnary(_ op: UnaryKernel, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                       count: Int) {
    let span = KernelProfile.open("elementwise_\(op)")
    defer { span?.close() }
    switch op {
    case .exp: stream1(x, y, count, minWork: streamingMinHeavy, OpExp())
    case .log: stream1(x, y, count, minWork: streamingMinHeavy, OpLog())
    case .log1p: stream1(x, y, count, minWork: streamingMinHeavy, OpLog1p())
    case .sqrt:
        if count <= 0 { return }
        let yp = SendablePointer(y)
        parallelFor(count, minimumWorkPerThread: streamingMinHeavy) { r in sqrtChunk(x, yp.p, r.lowerBound, r.upperBound) }
    case .abs: stream1(x, y, count, minWork: streamingMinCheap, OpAbs())
    case .negate: stream1(x, y, count, minWork: streamingMinCheap, OpNegate())
    case .sign: stream1(x, y, count, minWork: streamingMinCheap, OpSign())
    case .sigmoid: stream1(x, y, count, minWork: streamingMinHeavy, OpSigmoid())
    case .tanh: stream1(x, y, count, minWork: streamingMinHeavy, OpTanh())
    case .relu: stream1(x, y, count, minWork: streamingMinCheap, OpRelu())
    case .reciprocal: stream1(x, y, count, minWork: streamingMinHeavy, OpReciprocal())
    case .square: stream1(x, y, count, minWork: streamingMinCheap, OpSquare())
    }
}

/// Elementwise binary operations for `applyBinary`.
public enum BinaryKernel: Sendable {
    /// a + b
    case add
    /// a − b
    case subtract
    /// a · b
    case multiply
    /// a / b
    case divide
    /// max(a, b) (NaN if either is NaN)
    case maximum
    /// min(a, b) (NaN if either is NaN)
    case minimum
    /// aᵇ = exp(b·ln a) for a > 0; 0ᵇ, negative a (integer b) and non-finite inputs as `powf`
    case power
}

/// y[i] = op(a[i·strideA], b[i·strideB]) for i < count, where each stride is 0 (broadcast the
/// scalar a[0] / b[0]) or 1. y may alias a or b (with stride 1). Parallel for large counts.
public func applyBinary(_ op: BinaryKernel, _ a: UnsafePointer<Float>, strideA: Int,
                        _ b: UnsafePointer<Float>, strideB: Int, _ y: UnsafeMutablePointer<Float>, count: Int) {
    let span = KernelProfile.open("elementwise_\(op)")
    defer { span?.close() }
    if count <= 0 { return }
    let sa = strideA == 0 ? 0 : 1, sb = strideB == 0 ? 0 : 1
    switch op {
    case .add: stream2(a, sa, b, sb, y, count, minWork: streamingMinCheap, OpAdd())
    case .subtract: stream2(a, sa, b, sb, y, count, minWork: streamingMinCheap, OpSub())
    case .multiply: stream2(a, sa, b, sb, y, count, minWork: streamingMinCheap, OpMul())
    case .divide: stream2(a, sa, b, sb, y, count, minWork: streamingMinHeavy, OpDiv())
    case .maximum: stream2(a, sa, b, sb, y, count, minWork: streamingMinCheap, OpMax())
    case .minimum: stream2(a, sa, b, sb, y, count, minWork: streamingMinCheap, OpMin())
    case .power: stream2(a, sa, b, sb, y, count, minWork: streamingMinHeavy, OpPow())
    }
}

/// Scaled softplus: y[i] = (log(1 + e^{β·x[i]}) − (centered ? log 2 : 0)) / β, computed with
/// t = β·x as max(t, 0) + log1p(e^{−|t|}) (or max(t, 0) + log1p(expm1(−|t|)/2) when centered,
/// which avoids cancellation near t = 0). Relative error ≲ 1e-6 for any t; β > 0.
public func softplusForward(_ x: UnsafePointer<Float>, beta: Float, centered: Bool,
                            _ y: UnsafeMutablePointer<Float>, count: Int) {
    let span = KernelProfile.open("softplus")
    defer { span?.close() }
    let invBeta = 1 / beta
    if centered {
        stream1(x, y, count, minWork: streamingMinHeavy, OpSoftplusCentered(beta: beta, invBeta: invBeta))
    } else {
        stream1(x, y, count, minWork: streamingMinHeavy, OpSoftplus(beta: beta, invBeta: invBeta))
    }
}

/// y[i] = σ(β·x[i]) = 1/(1 + e^{−β·x[i]}), stable for any |β·x| (this is d softplus_β / dx).
public func sigmoidScaled(_ x: UnsafePointer<Float>, beta: Float, _ y: UnsafeMutablePointer<Float>,
                          count: Int) {
    let span = KernelProfile.open("softplus")
    defer { span?.close() }
    stream1(x, y, count, minWork: streamingMinHeavy, OpSigmoidScaled(beta: beta))
}

struct OpSigmoidScaledProduct: BinaryVectorOp {
    let beta: Vec16, gradScale: Vec16
    @_transparent func apply(_ g: Vec16, _ x: Vec16) -> Vec16 { g * gradScale * vsigmoidImpl(x * beta) }
}

/// y[i] = gradScale·g[i]·σ(β·x[i]): the input gradient of softplus_β (and of centered softplus) in
/// one pass; `gradScale` (exact at 1) is the factor of a fused sum before it (`scaledSumSoftplusForward`).
public func softplusBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, beta: Float,
                             _ y: UnsafeMutablePointer<Float>, count: Int, gradScale: Float = 1) {
    let span = KernelProfile.open("softplus_backward")
    defer { span?.close() }
    stream2(g, 1, x, 1, y, count, minWork: streamingMinHeavy,
            OpSigmoidScaledProduct(beta: Vec16(repeating: beta), gradScale: Vec16(repeating: gradScale)))
}

/// The backward pass of softplus with a learnable β in one pass: writes
/// `gradInput[i] = gradScale·g[i]·σ(β·x[i])` (when `gradInput` is non-nil; `gradScale` as in
/// `softplusBackward`) and returns `Σᵢ g[i]·(x[i]·σ(β·x[i]) − y[i])`, which divided by β is ∂L/∂β
/// (y = the forward output).
public func softplusBackwardWithBeta(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                     beta: Float, gradInput: UnsafeMutablePointer<Float>?, count: Int,
                                     gradScale: Float = 1) -> Float {
    let span = KernelProfile.open("softplus_backward")
    defer { span?.close() }
    if count <= 0 { return 0 }
    let blocks = (count + 15) / 16
    let threads = max(1, min(KernelSettings.current.threadCount, blocks / max(1, streamingMinHeavy / 16)))
    var partial = [Double](repeating: 0, count: threads)
    let out = gradInput.map(SendablePointer.init)
    partial.withUnsafeMutableBufferPointer { sums in
        let sp = SendablePointer(sums.baseAddress!)
        parallelChunks(threads) { t in
            let start = t * blocks / threads * 16, end = min(count, (t + 1) * blocks / threads * 16)
            let vb = Vec16(repeating: beta), vs = Vec16(repeating: gradScale)
            var acc = Vec16()
            var i = start
            while i + 16 <= end {
                let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Vec16.self)
                let xv = UnsafeRawPointer(x + i).loadUnaligned(as: Vec16.self)
                let yv = UnsafeRawPointer(y + i).loadUnaligned(as: Vec16.self)
                let s = vsigmoidImpl(xv * vb)
                if let out { UnsafeMutableRawPointer(out.p + i).storeBytes(of: gv * vs * s, as: Vec16.self) }
                acc = acc.addingProduct(gv, xv * s - yv)
                i += 16
            }
            var tail: Float = 0
            while i < end {
                let s = 1 / (1 + expf(-beta * x[i]))
                out?.p[i] = g[i] * gradScale * s
                tail += g[i] * (x[i] * s - y[i])
                i += 1
            }
            sp.p[t] = Double(acc.sum()) + Double(tail)
        }
    }
    return Float(partial.reduce(0, +))
}

struct OpSigmoidSlopeProduct: BinaryVectorOp {
    let beta: Vec16
    @_transparent func apply(_ g: Vec16, _ s: Vec16) -> Vec16 { g * beta * s * (1 - s) }
}

/// y[i] = β·g[i]·s[i]·(1 − s[i]) with s = σ(β·x) already computed: the input gradient of
/// σ(β·x), in one pass.
public func sigmoidSlopeProduct(_ g: UnsafePointer<Float>, _ s: UnsafePointer<Float>, beta: Float,
                                _ y: UnsafeMutablePointer<Float>, count: Int) {
    let span = KernelProfile.open("softplus_backward")
    defer { span?.close() }
    stream2(g, 1, s, 1, y, count, minWork: streamingMinCheap, OpSigmoidSlopeProduct(beta: Vec16(repeating: beta)))
}
