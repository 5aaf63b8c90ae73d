// Streaming kernels for a weight divided by its inner product with a constant tensor,
// Wn = W / ⟨W, M⟩ (the spectrally normalised convolution's applied weight), and its backward
// pass ∂W = G/σ − (⟨G, W⟩/σ²)·M. Both are memory-bound streams over the weight; arrays of at
// least `scaledWeightParallelElements` elements split each pass over the kernel threads.

/// Below this many elements a pass runs on the calling thread (waking a worker costs ~25 µs).
public let scaledWeightParallelElements = 1 << 16

/// Σ a[i]·b[i] over `0..<count`: SIMD16 lanes in Float (four accumulators), partial sums of
/// each thread's chunk combined in Double.
public func innerProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
    let span = KernelProfile.open("inner_product")
    defer { span?.close() }
    if count <= 0 { return 0 }
    let threads = max(1, min(KernelSettings.current.threadCount, count / scaledWeightParallelElements))
    if threads == 1 { return chunkDot(a, b, 0, count) }
    var partial = [Double](repeating: 0, count: threads)
    partial.withUnsafeMutableBufferPointer { sums in
        let sp = SendablePointer(sums.baseAddress!)
        parallelChunks(threads) { t in
            let lo = (t * count / threads) & ~15, hi = t == threads - 1 ? count : ((t + 1) * count / threads) & ~15
            sp.p[t] = chunkDot(a, b, lo, hi)
        }
    }
    return partial.reduce(0, +)
}

@inline(__always)
private func chunkDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ lo: Int, _ hi: Int) -> Double {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var i = lo
    while i + 64 <= hi {
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self))
        acc2.addProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 128, as: SIMD16<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4 + 128, as: SIMD16<Float>.self))
        acc3.addProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 192, as: SIMD16<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4 + 192, as: SIMD16<Float>.self))
        i += 64
    }
    while i + 16 <= hi {
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                        rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        i += 16
    }
    var total = Double(((acc0 + acc1) + (acc2 + acc3)).sum())
    while i < hi {
        total += Double(a[i] * b[i])
        i += 1
    }
    return total
}

/// y[i] = α·x[i] + β·z[i] over `0..<count` (y may alias x or z).
public func linearCombination(_ alpha: Float, _ x: UnsafePointer<Float>, _ beta: Float, _ z: UnsafePointer<Float>,
                              _ y: UnsafeMutablePointer<Float>, count: Int) {
    let span = KernelProfile.open("linear_combination")
    defer { span?.close() }
    if count <= 0 { return }
    let yp = SendablePointer(y)
    parallelFor((count + 15) / 16, minimumWorkPerThread: scaledWeightParallelElements / 16) { range in
        let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
        let av = SIMD16<Float>(repeating: alpha), bv = SIMD16<Float>(repeating: beta)
        let rx = UnsafeRawPointer(x), rz = UnsafeRawPointer(z), ry = UnsafeMutableRawPointer(yp.p)
        var i = lo
        while i + 16 <= hi {
            let xv = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            let zv = rz.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            ry.storeBytes(of: (xv * av).addingProduct(zv, bv), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < hi {
            yp.p[i] = alpha * x[i] + beta * z[i]
            i += 1
        }
    }
}
