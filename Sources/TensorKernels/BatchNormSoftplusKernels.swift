// Batch norm followed by softplus in one pass over the activations (paper §3: every LCNN and
// Standard block is conv → BN → softplus). With the per-channel batch statistics μ, ρ = 1/√(σ²+ε),
// weight w and bias b, the block computes
//
//   z = (x − μ)·ρ·w + b,   a = softplus_β(z) = log(1 + e^{βz})/β  (− log 2/β when centered),
//
// and its first-order backward pass, with gz = g·σ(βz) and x̂ = (x − μ)·ρ,
//
//   ∂b = Σ gz,   ∂w = Σ gz·x̂,   ∂x = w·ρ·(gz − mean gz − x̂·mean(gz·x̂)),   ∂β = Σ g·(z·σ(βz) − a)/β.
//
// z is never stored: the forward pass writes a directly, the backward pass recomputes z from x.
// Layout and threading as in BatchNormKernels.swift (`[outer, channels, inner]`, channels or rows
// spread over the threads).

import Foundation

/// softplus_β(z)·(1/β) of z = x·slope + intercept, on SIMD16 vectors (the tail zero-padded by
/// `streamChunk`).
struct OpAffineSoftplus: UnaryVectorOp {
    /// β·scale and β·(shift − mean·scale): t = β·z = x·slope + intercept.
    let slope: Float, intercept: Float, invBeta: Float
    let centered: Bool
    @_transparent func apply(_ v: Vec16) -> Vec16 {
        softplusCore(Vec16(repeating: intercept).addingProduct(v, slope), centered: centered) * invBeta
    }
}

/// `y = softplus_β((x − mean_c)·scale_c + shift_c)` per channel (centered: minus log 2/β), with
/// scale and shift folding the inverse standard deviation, the weight and the bias as in
/// ``channelAffine``. β > 0.
public func channelAffineSoftplus(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                                  scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                  beta: Float, centered: Bool, _ y: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("batch_norm_softplus")
    defer { span?.close() }
    let out = SendablePointer(y)
    parallelFor(outer * channels, minimumWorkPerThread: max(1, streamingMinHeavy / max(inner, 1))) { range in
        for row in range {
            let c = row % channels
            let op = OpAffineSoftplus(slope: beta * scale[c], intercept: beta * (shift[c] - mean[c] * scale[c]),
                                      invBeta: 1 / beta, centered: centered)
            streamChunk(op, x + row * inner, out.p + row * inner, 0, inner)
        }
    }
}

/// The first-order backward pass of ``channelAffineSoftplus`` in training mode (formulas at the
/// top of this file), per channel in two passes: the first writes gz into `gradInput` (when
/// given) and sums Σgz, Σgz·(x − μ) and, when `output` (the forward's a) is given,
/// Σ g·(z·σ(βz) − a); the second turns gz into ∂x in place.
///
/// - Parameters:
///   - weight, bias: the affine parameters (nil: w = 1, b = 0).
///   - gradWeight, gradBias: per-channel outputs, nil when not needed.
/// - Returns: Σ g·(z·σ(βz) − a) over every value (∂β·β), or 0 when `output` is nil.
public func batchNormSoftplusBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, output: UnsafePointer<Float>?,
                                      outer: Int, channels: Int, inner: Int,
                                      mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, beta: Float,
                                      gradInput: UnsafeMutablePointer<Float>?, gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?) -> Float {
    let span = KernelProfile.open("batch_norm_softplus_backward")
    defer { span?.close() }
    let n = Float(outer * inner)
    let betaSums = UnsafeMutablePointer<Double>.allocate(capacity: max(channels, 1))
    defer { betaSums.deallocate() }
    let sums = SendablePointer(betaSums)
    parallelFor(channels, minimumWorkPerThread: max(1, 16_384 / max(outer * inner, 1))) { range in
        for c in range {
            let mu = mean[c], r = inverseStd[c], w = weight?[c] ?? 1, b = bias?[c] ?? 0
            let row = SoftplusGateRow(mu: mu, zScale: r * w, zShift: b, beta: beta)
            var sumG = 0.0, sumGX = 0.0, sumBeta = 0.0
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                let s = row.gateAndSum(g + off, x + off, output.map { $0 + off }, inner, gz: gradInput.map { $0 + off })
                sumG += Double(s.g); sumGX += Double(s.gx); sumBeta += Double(s.beta)
            }
            sums.p[c] = sumBeta
            let sumGXhat = Float(sumGX) * r
            gradBias?[c] = Float(sumG)
            gradWeight?[c] = sumGXhat
            guard let gradInput else { continue }
            // ∂x = w·r·(gz − meanG − (x − μ)·r·meanGXhat), gz read back from gradInput.
            let k = w * r, meanG = Float(sumG) / n, slope = r * (sumGXhat / n)
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                normalizedGradientRow(gradInput + off, x + off, inner, k: k, meanG: meanG, mu: mu, slope: slope)
            }
        }
    }
    guard output != nil else { return 0 }
    var total = 0.0
    for c in 0..<channels { total += betaSums[c] }
    return Float(total)
}

/// One channel's softplus gate: z = (x − μ)·zScale + zShift, σ(βz).
private struct SoftplusGateRow {
    let mu: Float, zScale: Float, zShift: Float, beta: Float

    /// Over one row: writes gz = g·σ(βz) to `gz` (when given) and returns (Σgz, Σgz·(x − μ),
    /// Σ g·(z·σ(βz) − a)), the last only when `a` is given.
    @inline(__always)
    func gateAndSum(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ a: UnsafePointer<Float>?, _ n: Int,
                    gz: UnsafeMutablePointer<Float>?) -> (g: Float, gx: Float, beta: Float) {
        let vmu = Vec16(repeating: mu), vscale = Vec16(repeating: zScale), vshift = Vec16(repeating: zShift)
        let vbeta = Vec16(repeating: beta)
        var accG = Vec16(), accGX = Vec16(), accBeta = Vec16()
        var i = 0
        while i + 16 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Vec16.self)
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: Vec16.self) - vmu
            let z = vshift.addingProduct(d, vscale)
            let s = vsigmoidImpl(z * vbeta)
            let gate = gv * s
            if let gz { UnsafeMutableRawPointer(gz + i).storeBytes(of: gate, as: Vec16.self) }
            accG += gate
            accGX = accGX.addingProduct(gate, d)
            if let a { accBeta = accBeta.addingProduct(gv, z * s - UnsafeRawPointer(a + i).loadUnaligned(as: Vec16.self)) }
            i += 16
        }
        var sg = accG.sum(), sgx = accGX.sum(), sb = accBeta.sum()
        while i < n {
            let d = x[i] - mu
            let z = d * zScale + zShift
            let s = 1 / (1 + expf(-beta * z))
            let gate = g[i] * s
            gz?[i] = gate
            sg += gate
            sgx += gate * d
            if let a { sb += g[i] * (z * s - a[i]) }
            i += 1
        }
        return (sg, sgx, sb)
    }
}

/// dx[i] ← k·(dx[i] − meanG − (x[i] − μ)·slope) over one row (dx holds gz on entry).
@inline(__always)
private func normalizedGradientRow(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                                   k: Float, meanG: Float, mu: Float, slope: Float) {
    let vk = Vec16(repeating: k), vmean = Vec16(repeating: meanG), vmu = Vec16(repeating: mu)
    let vslope = Vec16(repeating: slope)
    var i = 0
    while i + 16 <= n {
        let gz = UnsafeRawPointer(dx + i).loadUnaligned(as: Vec16.self)
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: Vec16.self) - vmu
        UnsafeMutableRawPointer(dx + i).storeBytes(of: vk * ((gz - vmean) - d * vslope), as: Vec16.self)
        i += 16
    }
    while i < n {
        dx[i] = k * (dx[i] - meanG - (x[i] - mu) * slope)
        i += 1
    }
}
