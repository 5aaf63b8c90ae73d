// The end of a residual block, act(scale·(a + b)) with a softplus act (paper §3.4: the LCNN block
// averages its branches, scale ½; the Standard block adds them, scale 1), in one pass forward. The
// backward pass needs no kernel of its own: the softplus backward kernels take the factor
// (`softplusBackward`, `softplusBackwardWithBeta`, `gradScale`), so ∂a = ∂b = scale·g·σ(βz) is
// written once instead of a softplus gradient followed by a pass that scales it.

/// z[i] = scale·(a[i] + b[i]) and y[i] = softplus_β(z[i]) (centered: minus log 2/β), in one pass
/// over a and b (`softplusForward`'s values for z). z is kept for the backward pass. Parallel for
/// large counts.
public func scaledSumSoftplusForward(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, scale: Float, beta: Float,
                                     centered: Bool, sum z: UnsafeMutablePointer<Float>,
                                     _ y: UnsafeMutablePointer<Float>, count: Int) {
    let span = KernelProfile.open("sum_softplus")
    defer { span?.close() }
    if count <= 0 { return }
    let invBeta = 1 / beta
    if centered {
        sumThenStream(a, b, scale, z, y, count, OpSoftplusCentered(beta: beta, invBeta: invBeta))
    } else {
        sumThenStream(a, b, scale, z, y, count, OpSoftplus(beta: beta, invBeta: invBeta))
    }
}

/// z = scale·(a + b), y = op(z), 16 floats at a time, the blocks split among the kernel threads.
private func sumThenStream<Op: UnaryVectorOp>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ scale: Float,
                                              _ z: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                              _ count: Int, _ op: Op) {
    let (zp, yp) = (SendablePointer(z), SendablePointer(y))
    let chunk = { (start: Int, end: Int) in
        let s = Vec16(repeating: scale)
        var i = start
        while i + 16 <= end {
            let sum = s * (UnsafeRawPointer(a + i).loadUnaligned(as: Vec16.self)
                           + UnsafeRawPointer(b + i).loadUnaligned(as: Vec16.self))
            UnsafeMutableRawPointer(zp.p + i).storeBytes(of: sum, as: Vec16.self)
            UnsafeMutableRawPointer(yp.p + i).storeBytes(of: op.apply(sum), as: Vec16.self)
            i += 16
        }
        if i < end {
            let sum = s * (loadPartial(a + i, end - i) + loadPartial(b + i, end - i))
            storePartial(sum, zp.p + i, end - i)
            storePartial(op.apply(sum), yp.p + i, end - i)
        }
    }
    if count < 2 * streamingMinHeavy {
        chunk(0, count)
        return
    }
    let blocks = (count + 15) / 16
    parallelFor(blocks, minimumWorkPerThread: max(1, streamingMinHeavy / 16)) { range in
        chunk(range.lowerBound * 16, min(count, range.upperBound * 16))
    }
}
