/// Fused batch-normalisation kernels over tensors viewed as `[outer, channels, inner]`
/// (`[N, C, H·W]` for images, `[N, C, 1]` for features). Statistics are per channel, over
/// the `outer·inner` values of that channel; channels are spread over the threads.

/// Per-channel mean and inverse standard deviation `1/√(var + ε)` with the biased variance
/// (two passes: the mean, then the squared deviations, accumulated in Double).
public func batchNormStatistics(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int, epsilon: Float,
                                mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
                                inverseStd: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("batch_norm")
    defer { span?.close() }
    let n = Double(outer * inner)
    parallelFor(channels, minimumWorkPerThread: max(1, 65_536 / max(outer * inner, 1))) { range in
        for c in range {
            var sum = 0.0
            for o in 0..<outer { sum += Double(rowSum(x + (o * channels + c) * inner, inner)) }
            let mu = Float(sum / n)
            var squares = 0.0
            for o in 0..<outer { squares += Double(rowSquaredDeviation(x + (o * channels + c) * inner, inner, mu)) }
            let v = Float(squares / n)
            mean[c] = mu
            variance[c] = v
            inverseStd[c] = 1 / (v + epsilon).squareRoot()
        }
    }
}

/// `y = (x − mean_c)·scale_c + shift_c` per channel (scale and shift fold the inverse standard
/// deviation and the affine weight and bias).
public func channelAffine(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                          scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("batch_norm")
    defer { span?.close() }
    parallelFor(outer * channels, minimumWorkPerThread: max(1, 32_768 / max(inner, 1))) { range in
        for row in range {
            let c = row % channels
            let a = scale[c], b = shift[c] - mean[c] * scale[c]
            let src = x + row * inner, dst = y + row * inner
            var i = 0
            let va = SIMD16<Float>(repeating: a), vb = SIMD16<Float>(repeating: b)
            while i + 16 <= inner {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: v * va + vb, as: SIMD16<Float>.self)
                i += 16
            }
            while i < inner { dst[i] = src[i] * a + b; i += 1 }
        }
    }
}

/// The first-order backward pass of training-mode batch norm `y = x̂·w + b`, x̂ = (x − μ)·r:
/// `∂b = Σ g`, `∂w = Σ g·x̂`, `∂x = w·r·(g − mean(g) − x̂·mean(g·x̂))` (sums per channel).
/// `weight` may be nil (w = 1); the outputs `gradWeight`/`gradBias` may be nil when not needed.
public func batchNormBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                              mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                              gradInput: UnsafeMutablePointer<Float>?, gradWeight: UnsafeMutablePointer<Float>?,
                              gradBias: UnsafeMutablePointer<Float>?) {
    let span = KernelProfile.open("batch_norm_backward")
    defer { span?.close() }
    let n = Float(outer * inner)
    parallelFor(channels, minimumWorkPerThread: max(1, 65_536 / max(outer * inner, 1))) { range in
        for c in range {
            let mu = mean[c], r = inverseStd[c]
            var sumG = 0.0, sumGX = 0.0
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                let (sg, sgx) = rowGradientSums(g + off, x + off, inner, mu)
                sumG += Double(sg); sumGX += Double(sgx)
            }
            // Σ g·x̂ = r·Σ g·(x − μ)
            let sumGXhat = Float(sumGX) * r
            gradBias?[c] = Float(sumG)
            gradWeight?[c] = sumGXhat
            guard let gradInput else { continue }
            let w = weight?[c] ?? 1
            let meanG = Float(sumG) / n, meanGXhat = sumGXhat / n
            // ∂x = w·r·(g − meanG − (x − μ)·r·meanGXhat)
            let k = w * r, slope = r * meanGXhat
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                let gp = g + off, xp = x + off, dp = gradInput + off
                for i in 0..<inner { dp[i] = k * (gp[i] - meanG - (xp[i] - mu) * slope) }
            }
        }
    }
}

@inline(__always) private func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n { acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self); i += 16 }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

@inline(__always) private func rowSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> Float {
    var acc = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mu)
    var i = 0
    while i + 16 <= n {
        let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - m
        acc = acc.addingProduct(d, d)
        i += 16
    }
    var s = acc.sum()
    while i < n { let d = p[i] - mu; s += d * d; i += 1 }
    return s
}

/// (Σ g, Σ g·(x − μ)) over one row.
@inline(__always) private func rowGradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> (Float, Float) {
    var ag = SIMD16<Float>(), agx = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mu)
    var i = 0
    while i + 16 <= n {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
        ag += gv
        agx = agx.addingProduct(gv, xv)
        i += 16
    }
    var sg = ag.sum(), sgx = agx.sum()
    while i < n { sg += g[i]; sgx += g[i] * (x[i] - mu); i += 1 }
    return (sg, sgx)
}

/// The backward pass of ``batchNormBackward``'s input gradient, for double backprop.
///
/// Per channel, with ĝ = w·g, x̂ = (x − μ)·ρ, n values, and the projection
/// P(v) = v − mean(v) − x̂·mean(v·x̂), the first backward pass computed ∂x = ρ·P(ĝ). Given the
/// gradient `u` with respect to that ∂x, this writes
/// - `gradG = w·ρ·P(u)` (∂/∂g: P is self-adjoint),
/// - `gradX = −(ρ²/n)·[x̂·(Σu(ĝ − ḡ) − Σĝx̂·Σux̂/n) + Σux̂·P(ĝ) + Σĝx̂·P(u)]` (∂/∂x),
/// - `gradWeight[c] = Σ g·ρ·P(u)` (∂/∂w).
/// Any output may be nil when not needed.
public func batchNormDoubleBackward(_ u: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                    outer: Int, channels: Int, inner: Int,
                                    mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                    gradG: UnsafeMutablePointer<Float>?, gradX: UnsafeMutablePointer<Float>?,
                                    gradWeight: UnsafeMutablePointer<Float>?) {
    let span = KernelProfile.open("batch_norm_double_backward")
    defer { span?.close() }
    let n = Double(outer * inner)
    parallelFor(channels, minimumWorkPerThread: max(1, 65_536 / max(outer * inner, 1))) { range in
        for c in range {
            let mu = mean[c], rho = inverseStd[c], w = weight?[c] ?? 1
            // Pass 1: Σu, Σg, Σu·x̂, Σg·x̂, Σu·g (SIMD rows, Double totals).
            var su = 0.0, sg = 0.0, sux = 0.0, sgx = 0.0, sug = 0.0
            let vmu = SIMD16<Float>(repeating: mu), vrho = SIMD16<Float>(repeating: rho)
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                var au = SIMD16<Float>(), ag = SIMD16<Float>(), aux = SIMD16<Float>(), agx = SIMD16<Float>(), aug = SIMD16<Float>()
                var i = 0
                while i + 16 <= inner {
                    let uv = UnsafeRawPointer(u + off + i).loadUnaligned(as: SIMD16<Float>.self)
                    let gv = UnsafeRawPointer(g + off + i).loadUnaligned(as: SIMD16<Float>.self)
                    let xh = (UnsafeRawPointer(x + off + i).loadUnaligned(as: SIMD16<Float>.self) - vmu) * vrho
                    au += uv; ag += gv
                    aux = aux.addingProduct(uv, xh); agx = agx.addingProduct(gv, xh); aug = aug.addingProduct(uv, gv)
                    i += 16
                }
                var tu = au.sum(), tg = ag.sum(), tux = aux.sum(), tgx = agx.sum(), tug = aug.sum()
                while i < inner {
                    let uv = u[off + i], gv = g[off + i], xh = (x[off + i] - mu) * rho
                    tu += uv; tg += gv; tux += uv * xh; tgx += gv * xh; tug += uv * gv
                    i += 1
                }
                su += Double(tu); sg += Double(tg); sux += Double(tux); sgx += Double(tgx); sug += Double(tug)
            }
            let wd = Double(w), r = Double(rho)
            let meanU = su / n, meanGhat = wd * sg / n
            let sumGhatX = wd * sgx, sumUX = sux
            let centeredUG = wd * sug - n * meanGhat * meanU          // Σu(ĝ − ḡ)
            let a = centeredUG - sumGhatX * sumUX / n
            let k = -r * r / n
            // Pass 2: the outputs, as gx = k·(x̂·a + Σux̂·P(ĝ) + Σĝx̂·P(u)), gg = w·ρ·P(u), with
            // P(u) = u − ū − x̂·Σux̂/n and P(ĝ) = w·g − ḡ − x̂·Σĝx̂/n.
            let (fk, fa, fsux, fsgx) = (Float(k), Float(a), Float(sumUX), Float(sumGhatX))
            let (fmeanU, fmeanG, fn, fw, fr) = (Float(meanU), Float(meanGhat), Float(n), w, rho)
            var sumGP = 0.0
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                var acc = SIMD16<Float>()
                var i = 0
                while i + 16 <= inner {
                    let uv = UnsafeRawPointer(u + off + i).loadUnaligned(as: SIMD16<Float>.self)
                    let gv = UnsafeRawPointer(g + off + i).loadUnaligned(as: SIMD16<Float>.self)
                    let xh = (UnsafeRawPointer(x + off + i).loadUnaligned(as: SIMD16<Float>.self) - vmu) * vrho
                    let pu = uv - fmeanU - xh * (fsux / fn)
                    let pg = gv * fw - fmeanG - xh * (fsgx / fn)
                    if let gradG { UnsafeMutableRawPointer(gradG + off + i).storeBytes(of: pu * (fw * fr), as: SIMD16<Float>.self) }
                    if let gradX {
                        let v = (xh * fa + pg * fsux + pu * fsgx) * fk
                        UnsafeMutableRawPointer(gradX + off + i).storeBytes(of: v, as: SIMD16<Float>.self)
                    }
                    acc = acc.addingProduct(gv, pu)
                    i += 16
                }
                var tail: Float = 0
                while i < inner {
                    let uv = u[off + i], gv = g[off + i], xh = (x[off + i] - mu) * rho
                    let pu = uv - fmeanU - xh * (fsux / fn)
                    let pg = gv * fw - fmeanG - xh * (fsgx / fn)
                    gradG?[off + i] = pu * (fw * fr)
                    gradX?[off + i] = (xh * fa + pg * fsux + pu * fsgx) * fk
                    tail += gv * pu
                    i += 1
                }
                sumGP += Double(acc.sum() + tail) * r
            }
            gradWeight?[c] = Float(sumGP)
        }
    }
}
