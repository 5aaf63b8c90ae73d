// One step of power iteration for the top singular pair of a row-major matrix W [rows, cols],
// on raw buffers (no tensors, no allocation besides a per-thread partial for large matrices):
//
//   v ← Wᵀu / max(‖Wᵀu‖, ε),   u ← Wv / max(‖Wv‖, ε),
//
// and the bilinear form σ̂ = uᵀWv. Products accumulate in Float with SIMD16 lanes (like sgemm);
// norms and the final dot products accumulate in Double. Matrices of at least
// `powerIterationParallelElements` elements split each pass over W across `KernelSettings.threads`
// threads (Wᵀu by column chunks, Wv by rows): both passes are memory-bound streams over W.

/// Below this many weight elements the step runs on the calling thread (waking a worker costs
/// ~25 µs, about one serial pass over 2¹⁸ floats).
public let powerIterationParallelElements = 1 << 18

/// `dst[0..<n] += a · src[0..<n]`.
@inline(__always)
private func axpy(_ n: Int, _ a: Float, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    var j = 0
    let av = SIMD16<Float>(repeating: a)
    while j + 16 <= n {
        let s = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD16<Float>.self)
        let d = UnsafeRawPointer(dst + j).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(dst + j).storeBytes(of: d.addingProduct(av, s), as: SIMD16<Float>.self)
        j += 16
    }
    while j < n {
        dst[j] += a * src[j]
        j += 1
    }
}

/// `Σ a[j]·b[j]` over `0..<n`, SIMD16 lanes in Float (two accumulators), tail in Float.
@inline(__always)
private func dot(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    var j = 0
    while j + 32 <= n {
        acc0.addProduct(UnsafeRawPointer(a + j).loadUnaligned(as: SIMD16<Float>.self),
                        UnsafeRawPointer(b + j).loadUnaligned(as: SIMD16<Float>.self))
        acc1.addProduct(UnsafeRawPointer(a + j + 16).loadUnaligned(as: SIMD16<Float>.self),
                        UnsafeRawPointer(b + j + 16).loadUnaligned(as: SIMD16<Float>.self))
        j += 32
    }
    if j + 16 <= n {
        acc0.addProduct(UnsafeRawPointer(a + j).loadUnaligned(as: SIMD16<Float>.self),
                        UnsafeRawPointer(b + j).loadUnaligned(as: SIMD16<Float>.self))
        j += 16
    }
    var s = (acc0 + acc1).sum()
    while j < n {
        s += a[j] * b[j]
        j += 1
    }
    return s
}

/// `x ← x / max(‖x‖, ε)` (norm in Double); returns ‖x‖ before scaling.
@inline(__always)
@discardableResult
private func normalize(_ x: UnsafeMutableBufferPointer<Float>, epsilon: Float) -> Double {
    normalize(x.baseAddress!, into: x.baseAddress!, count: x.count, epsilon: epsilon)
}

/// `dst ← src / max(‖src‖, ε)` over `0..<count` (dst may be src), on the calling thread; returns
/// ‖src‖. The squares accumulate in SIMD16 Float lanes over blocks of 1024 elements, the block
/// sums in Double: two passes over the vector instead of a norm, a quotient and a copy as
/// tensor operations (the power iteration of a convolution normalises one image per step).
@discardableResult
public func normalize(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int,
                      epsilon: Float) -> Double {
    var sumOfSquares = 0.0
    var block = 0
    while block < count {
        let end = min(count, block + 1024)
        var acc = SIMD16<Float>()
        var i = block
        while i + 16 <= end {
            let x = load16(src + i)
            acc.addProduct(x, x)
            i += 16
        }
        var partial = Double(acc.sum())
        while i < end {
            partial += Double(src[i]) * Double(src[i])
            i += 1
        }
        sumOfSquares += partial
        block = end
    }
    let norm = sumOfSquares.squareRoot()
    let scale = SIMD16<Float>(repeating: Float(1 / max(norm, Double(epsilon))))
    var i = 0
    while i + 16 <= count {
        store16(dst + i, load16(src + i) * scale)
        i += 16
    }
    while i < count {
        dst[i] = src[i] * scale[0]
        i += 1
    }
    return norm
}

/// `y[0..<cols] = Wᵀu` for W row-major [rows, cols] (y overwritten).
private func transposedProduct(_ w: UnsafePointer<Float>, rows: Int, cols: Int, _ u: UnsafePointer<Float>,
                               into y: UnsafeMutablePointer<Float>, maxThreads: Int) {
    let threads = rows * cols >= powerIterationParallelElements ? min(maxThreads, max(1, cols / 256)) : 1
    // Column chunks (multiples of 16 where possible) so each thread streams its own stripe of
    // every row and owns its slice of y.
    parallelChunks(threads) { t in
        let lo = (t * cols / threads) & ~15
        let hi = t == threads - 1 ? cols : ((t + 1) * cols / threads) & ~15
        let n = hi - lo
        if n <= 0 { return }
        (y + lo).update(repeating: 0, count: n)
        for r in 0..<rows {
            axpy(n, u[r], w + r * cols + lo, y + lo)
        }
    }
}

/// `y[0..<rows] = Wv` for W row-major [rows, cols] (y overwritten).
private func product(_ w: UnsafePointer<Float>, rows: Int, cols: Int, _ v: UnsafePointer<Float>,
                     into y: UnsafeMutablePointer<Float>, maxThreads: Int) {
    let threads = rows * cols >= powerIterationParallelElements ? min(maxThreads, rows) : 1
    parallelChunks(threads) { t in
        let lo = t * rows / threads, hi = (t + 1) * rows / threads
        for r in lo..<hi { y[r] = dot(cols, w + r * cols, v) }
    }
}

/// One in-place power-iteration step on W row-major `[rows, cols]` (`weight.count == rows·cols`,
/// `u.count == rows`, `v.count == cols`): `v ← Wᵀu/max(‖Wᵀu‖, ε)`, then `u ← Wv/max(‖Wv‖, ε)`.
/// Returns σ̂ = uᵀWv for the updated u and v (computed from the Wv of the second half-step, so
/// it costs no further pass over W). u and v must not alias W or each other.
@discardableResult
public func powerIterationStep(weight: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
                               u: UnsafeMutableBufferPointer<Float>, v: UnsafeMutableBufferPointer<Float>,
                               epsilon: Float = 1e-12) -> Float {
    let span = KernelProfile.open("power_iteration")
    defer { span?.close() }
    precondition(rows >= 0 && cols >= 0 && weight.count == rows * cols && u.count == rows && v.count == cols,
                 "powerIterationStep: buffers do not match [\(rows), \(cols)]")
    if rows == 0 || cols == 0 { return 0 }
    let w = weight.baseAddress!, up = u.baseAddress!, vp = v.baseAddress!
    let threads = KernelSettings.current.threadCount
    transposedProduct(w, rows: rows, cols: cols, up, into: vp, maxThreads: threads)
    normalize(v, epsilon: epsilon)
    product(w, rows: rows, cols: cols, vp, into: up, maxThreads: threads)
    // u currently holds Wv; after scaling u = Wv·s with s = 1/max(‖Wv‖, ε), so uᵀWv = s·‖Wv‖².
    let norm = normalize(u, epsilon: epsilon)
    return Float(norm * norm / max(norm, Double(epsilon)))
}

/// The bilinear form `uᵀWv` for W row-major `[rows, cols]` (one pass over W; Double sum over rows).
public func bilinearForm(weight: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
                         u: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>) -> Float {
    let span = KernelProfile.open("power_iteration")
    defer { span?.close() }
    precondition(rows >= 0 && cols >= 0 && weight.count == rows * cols && u.count == rows && v.count == cols,
                 "bilinearForm: buffers do not match [\(rows), \(cols)]")
    if rows == 0 || cols == 0 { return 0 }
    let w = weight.baseAddress!, vp = v.baseAddress!
    var s = 0.0
    for r in 0..<rows { s += Double(u[r]) * Double(dot(cols, w + r * cols, vp)) }
    return Float(s)
}
