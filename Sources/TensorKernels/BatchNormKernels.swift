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
    channelAffine(x, outer: outer, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, y, then: OpIdentity())
}

/// `y = op((x − mean_c)·scale_c + shift_c)` per channel, one pass over x; rows of `inner` values
/// are spread over the threads. The affine part is evaluated as `x·scale + (shift − mean·scale)`.
func channelAffine<Op: UnaryVectorOp>(_ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
                                      scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                      _ y: UnsafeMutablePointer<Float>, then op: Op) {
    parallelFor(outer * channels, minimumWorkPerThread: max(1, 32_768 / max(inner, 1))) { range in
        affineRows(range, x, channels: channels, inner: inner, scale: scale, mean: mean, shift: shift, y, op)
    }
}

/// Rows `rows` of ``channelAffine(_:outer:channels:inner:scale:mean:shift:_:then:)``: a function
/// of its own per operation (as `streamChunk`), so the operation's vector code is inlined whole.
@inline(never)
func affineRows<Op: UnaryVectorOp>(_ rows: Range<Int>, _ x: UnsafePointer<Float>, channels: Int, inner: Int,
                                   scale: UnsafePointer<Float>, mean: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                   _ y: UnsafeMutablePointer<Float>, _ op: Op) {
    for row in rows {
        let c = row % channels
        let va = Vec16(repeating: scale[c]), vb = Vec16(repeating: shift[c] - mean[c] * scale[c])
        let src = x + row * inner, dst = y + row * inner
        var i = 0
        while i + 16 <= inner {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: Vec16.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: op.apply(v * va + vb), as: Vec16.self)
            i += 16
        }
        if i < inner { storePartial(op.apply(loadPartial(src + i, inner - i) * va + vb), dst + i, inner - i) }
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
    batchNormBackward(g, x, side: nil, outer: outer, channels: channels, inner: inner, mean: mean, inverseStd: inverseStd,
                      weight: weight, gradInput: gradInput, gradWeight: gradWeight, gradBias: gradBias, extra: nil) { _ in
        IdentityOutputGradient()
    }
}

/// How the gradient ĝ that reaches batch norm's output y is formed, per element of one channel,
/// from the upstream gradient g: g itself for batch norm alone (``IdentityOutputGradient``),
/// g·σ(βy) when a softplus follows (`SoftplusOutputGradient`, which recomputes y from x).
protocol OutputGradient {
    /// Whether ĝ costs more to form than to store and reload: the first pass then writes it into
    /// the ∂x buffer and the second pass reads it back instead of forming it again.
    static var storesGradient: Bool { get }
    /// ĝ for 16 lanes of g and x.
    func gradient(_ g: Vec16, _ x: Vec16) -> Vec16
    /// ĝ as above, adding to `extra` the lanes of this map's own per-channel sum; `side` holds
    /// the same lanes of the kernel's optional third input (zeros without one).
    func gradient(_ g: Vec16, _ x: Vec16, _ side: Vec16, extra: inout Vec16) -> Vec16
}

/// ĝ = g: batch norm alone.
struct IdentityOutputGradient: OutputGradient {
    static var storesGradient: Bool { false }
    @_transparent func gradient(_ g: Vec16, _ x: Vec16) -> Vec16 { g }
    @_transparent func gradient(_ g: Vec16, _ x: Vec16, _ side: Vec16, extra: inout Vec16) -> Vec16 { g }
}

/// The first-order backward pass of training-mode batch norm for the output gradient ĝ that
/// `map(c)` forms in channel c, in two passes over each channel (threads take whole channels):
/// one reduction over (g, x[, side]) for Σ ĝ, Σ ĝ·(x − μ) and the map's own sum (`extra[c]`),
/// then one pass writing `∂x = w·r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`; `∂b = Σ ĝ`, `∂w = Σ ĝ·x̂`.
/// Sums run in SIMD16 within a row and in Double across rows. A map that `storesGradient` has
/// the first pass write ĝ into `gradInput` (one channel's rows, still in L2 for the second pass),
/// which the second pass turns into ∂x in place.
func batchNormBackward<Map: OutputGradient>(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, side: UnsafePointer<Float>?,
                                            outer: Int, channels: Int, inner: Int,
                                            mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                            weight: UnsafePointer<Float>?, gradInput: UnsafeMutablePointer<Float>?,
                                            gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?,
                                            extra: UnsafeMutablePointer<Float>?, map: (Int) -> Map) {
    let n = Float(outer * inner)
    parallelFor(channels, minimumWorkPerThread: max(1, 65_536 / max(outer * inner, 1))) { range in
        for c in range {
            let mu = mean[c], r = inverseStd[c], channelMap = map(c)
            let rows = ChannelRows(outer: outer, stride: channels * inner, first: c * inner, inner: inner)
            let store = Map.storesGradient ? gradInput : nil
            let (sumG, sumGX, sumExtra) = rows.gradientSums(g, x, side, mu, channelMap, store: store)
            // Σ ĝ·x̂ = r·Σ ĝ·(x − μ)
            let sumGXhat = Float(sumGX) * r
            gradBias?[c] = Float(sumG)
            gradWeight?[c] = sumGXhat
            extra?[c] = Float(sumExtra)
            guard let gradInput else { continue }
            let w = weight?[c] ?? 1
            let meanG = Float(sumG) / n, meanGXhat = sumGXhat / n
            // ∂x = w·r·(ĝ − meanG − (x − μ)·r·meanGXhat)
            let row = InputGradientRow(mu: mu, k: w * r, meanG: meanG, slope: r * meanGXhat)
            if let store {
                rows.inputGradient(UnsafePointer(store), x, gradInput, row, IdentityOutputGradient())
            } else {
                rows.inputGradient(g, x, gradInput, row, channelMap)
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

/// The rows of one channel: `outer` rows of `inner` values, the first at `first`, `stride` apart.
/// Each pass over them is a function of its own per map (as `streamChunk`), so the map's vector
/// code is inlined whole into its loops.
private struct ChannelRows {
    let outer: Int, stride: Int, first: Int, inner: Int

    /// (Σ ĝ, Σ ĝ·(x − μ), the map's own sum): SIMD16 within a row, Double across rows; ĝ is
    /// written to `store` when given.
    @inline(never)
    func gradientSums<Map: OutputGradient>(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ side: UnsafePointer<Float>?,
                                           _ mu: Float, _ map: Map, store: UnsafeMutablePointer<Float>?) -> (Double, Double, Double) {
        var sumG = 0.0, sumGX = 0.0, sumExtra = 0.0
        for o in 0..<outer {
            let off = first + o * stride
            let (sg, sgx, se) = rowGradientSums(g + off, x + off, side.map { $0 + off }, inner, mu, map,
                                                store: store.map { $0 + off })
            sumG += Double(sg); sumGX += Double(sgx); sumExtra += Double(se)
        }
        return (sumG, sumGX, sumExtra)
    }

    /// Writes ∂x over the channel's rows.
    @inline(never)
    func inputGradient<Map: OutputGradient>(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                            _ row: InputGradientRow, _ map: Map) {
        for o in 0..<outer {
            let off = first + o * stride
            row.run(g + off, x + off, dx + off, inner, map)
        }
    }
}

/// (Σ ĝ, Σ ĝ·(x − μ), the map's own sum) over one row, ĝ formed by `map` (and written to
/// `store` when given).
@inline(__always) private func rowGradientSums<Map: OutputGradient>(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                                                    _ side: UnsafePointer<Float>?, _ n: Int, _ mu: Float,
                                                                    _ map: Map, store: UnsafeMutablePointer<Float>?)
    -> (Float, Float, Float) {
    var ag = Vec16(), agx = Vec16(), extra = Vec16()
    let m = Vec16(repeating: mu)
    @inline(__always) func add(_ gv: Vec16, _ xv: Vec16, _ sv: Vec16) -> Vec16 {
        let gh = map.gradient(gv, xv, sv, extra: &extra)
        ag += gh
        agx = agx.addingProduct(gh, xv - m)
        return gh
    }
    var i = 0
    while i + 16 <= n {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Vec16.self)
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: Vec16.self)
        let gh = add(gv, xv, side.map { UnsafeRawPointer($0 + i).loadUnaligned(as: Vec16.self) } ?? Vec16())
        if let store { UnsafeMutableRawPointer(store + i).storeBytes(of: gh, as: Vec16.self) }
        i += 16
    }
    // The tail as one vector padded with zeros: ĝ = 0 there adds nothing.
    if i < n {
        let gh = add(loadPartial(g + i, n - i), loadPartial(x + i, n - i), side.map { loadPartial($0 + i, n - i) } ?? Vec16())
        if let store { storePartial(gh, store + i, n - i) }
    }
    return (ag.sum(), agx.sum(), extra.sum())
}

/// The second pass of ``batchNormBackward(_:_:side:outer:channels:inner:mean:inverseStd:weight:gradInput:gradWeight:gradBias:extra:map:)``
/// over one row: `∂x = k·(ĝ − meanG − (x − μ)·slope)`.
private struct InputGradientRow {
    let mu: Float, k: Float, meanG: Float, slope: Float

    @inline(__always)
    func run<Map: OutputGradient>(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                  _ n: Int, _ map: Map) {
        let m = Vec16(repeating: mu), vk = Vec16(repeating: k), vg = Vec16(repeating: meanG), vs = Vec16(repeating: slope)
        @inline(__always) func value(_ gv: Vec16, _ xv: Vec16) -> Vec16 { vk * (map.gradient(gv, xv) - vg - (xv - m) * vs) }
        var i = 0
        while i + 16 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: Vec16.self)
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: Vec16.self)
            UnsafeMutableRawPointer(dx + i).storeBytes(of: value(gv, xv), as: Vec16.self)
            i += 16
        }
        if i < n { storePartial(value(loadPartial(g + i, n - i), loadPartial(x + i, n - i)), dx + i, n - i) }
    }
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
            // Pass 1: Σu, Σg, Σu·(x − μ), Σg·(x − μ), Σu·g per row (SIMD), totals in Double.
            var totals = DoubleBackwardSums()
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                totals.add(rowDoubleBackwardSums(u + off, g + off, x + off, inner, mu))
            }
            let wd = Double(w), r = Double(rho)
            let meanU = totals.u / n, meanGhat = wd * totals.g / n
            let sumGhatX = wd * totals.gx * r, sumUX = totals.ux * r
            let centeredUG = wd * totals.ug - n * meanGhat * meanU          // Σu(ĝ − ḡ)
            let a = centeredUG - sumGhatX * sumUX / n
            let k = -r * r / n
            // Pass 2: the outputs, as gx = k·(x̂·a + Σux̂·P(ĝ) + Σĝx̂·P(u)), gg = w·ρ·P(u), with
            // P(u) = u − ū − x̂·Σux̂/n and P(ĝ) = w·g − ḡ − x̂·Σĝx̂/n, written per row as affine
            // combinations of u, g and (x − μ).
            let rowPass = DoubleBackwardRow(mu: mu, rho: rho, w: w, n: Float(n), k: Float(k), a: Float(a),
                                            meanU: Float(meanU), meanGhat: Float(meanGhat), sumUX: Float(sumUX),
                                            sumGhatX: Float(sumGhatX))
            var sumGP = 0.0
            for o in 0..<outer {
                let off = (o * channels + c) * inner
                sumGP += Double(rowPass.run(u + off, g + off, x + off, inner,
                                            gradG: gradG.map { $0 + off }, gradX: gradX.map { $0 + off }))
            }
            gradWeight?[c] = Float(sumGP * r)
        }
    }
}

/// Per-channel totals of the double-backward kernel's first pass.
private struct DoubleBackwardSums {
    var u = 0.0, g = 0.0, ux = 0.0, gx = 0.0, ug = 0.0
    mutating func add(_ row: (Float, Float, Float, Float, Float)) {
        u += Double(row.0); g += Double(row.1); ux += Double(row.2); gx += Double(row.3); ug += Double(row.4)
    }
}

/// (Σu, Σg, Σu·(x − μ), Σg·(x − μ), Σu·g) over one row.
@inline(__always) private func rowDoubleBackwardSums(_ u: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                                     _ x: UnsafePointer<Float>, _ n: Int, _ mu: Float)
    -> (Float, Float, Float, Float, Float) {
    var au = SIMD16<Float>(), ag = SIMD16<Float>(), aux = SIMD16<Float>(), agx = SIMD16<Float>(), aug = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mu)
    var i = 0
    while i + 16 <= n {
        let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD16<Float>.self)
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
        let xc = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
        au += uv; ag += gv
        aux = aux.addingProduct(uv, xc); agx = agx.addingProduct(gv, xc); aug = aug.addingProduct(uv, gv)
        i += 16
    }
    var su = au.sum(), sg = ag.sum(), sux = aux.sum(), sgx = agx.sum(), sug = aug.sum()
    while i < n {
        let uv = u[i], gv = g[i], xc = x[i] - mu
        su += uv; sg += gv; sux += uv * xc; sgx += gv * xc; sug += uv * gv
        i += 1
    }
    return (su, sg, sux, sgx, sug)
}

/// The second pass of the double-backward kernel over one row, with the channel's constants
/// folded: with d = x − μ,
/// P(u)·wρ = wρ·u − wρ·ū − wρ²·(Σux̂/n)·d, and
/// gx = k·(x̂·a + Σux̂·P(ĝ) + Σĝx̂·P(u)) = cu·u + cg·g + cd·d + c0.
private struct DoubleBackwardRow {
    // gradG = gu·u + gd·d + g0
    let gu: Float, gd: Float, g0: Float
    // gradX = cu·u + cg·g + cd·d + c0
    let cu: Float, cg: Float, cd: Float, c0: Float
    // P(u) = u − ū − pd·d (for Σ g·P(u))
    let meanU: Float, pd: Float
    let mu: Float

    init(mu: Float, rho: Float, w: Float, n: Float, k: Float, a: Float, meanU: Float, meanGhat: Float,
         sumUX: Float, sumGhatX: Float) {
        self.mu = mu
        self.meanU = meanU
        pd = rho * sumUX / n                       // P(u) = u − ū − d·ρ·Σux̂/n
        let pgd = rho * sumGhatX / n               // P(ĝ) = w·g − ḡ − d·ρ·Σĝx̂/n
        gu = w * rho; gd = -w * rho * pd; g0 = -w * rho * meanU
        cu = k * sumGhatX
        cg = k * sumUX * w
        cd = k * (rho * a - sumUX * pgd - sumGhatX * pd)
        c0 = k * (-sumUX * meanGhat - sumGhatX * meanU)
    }

    /// Writes the row's gradG and gradX (either may be nil) and returns Σ g·P(u).
    @inline(__always)
    func run(_ u: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
             gradG: UnsafeMutablePointer<Float>?, gradX: UnsafeMutablePointer<Float>?) -> Float {
        if let gradG, let gradX {
            return rowOutputs(u, g, x, n) { i, uv, gv, d in
                UnsafeMutableRawPointer(gradG + i).storeBytes(of: (uv * gu + g0).addingProduct(d, gd), as: SIMD16<Float>.self)
                let v = (uv * cu + c0).addingProduct(gv, cg).addingProduct(d, cd)
                UnsafeMutableRawPointer(gradX + i).storeBytes(of: v, as: SIMD16<Float>.self)
            } scalar: { i, uv, gv, d in
                gradG[i] = uv * gu + g0 + d * gd
                gradX[i] = uv * cu + c0 + gv * cg + d * cd
            }
        } else if let gradG {
            return rowOutputs(u, g, x, n) { i, uv, _, d in
                UnsafeMutableRawPointer(gradG + i).storeBytes(of: (uv * gu + g0).addingProduct(d, gd), as: SIMD16<Float>.self)
            } scalar: { i, uv, _, d in gradG[i] = uv * gu + g0 + d * gd }
        } else if let gradX {
            return rowOutputs(u, g, x, n) { i, uv, gv, d in
                let v = (uv * cu + c0).addingProduct(gv, cg).addingProduct(d, cd)
                UnsafeMutableRawPointer(gradX + i).storeBytes(of: v, as: SIMD16<Float>.self)
            } scalar: { i, uv, gv, d in gradX[i] = uv * cu + c0 + gv * cg + d * cd }
        }
        return rowOutputs(u, g, x, n) { _, _, _, _ in } scalar: { _, _, _, _ in }
    }

    /// Walks one row in SIMD16 steps and a scalar tail, handing (u, g, x − μ) to `store` and
    /// returning Σ g·P(u).
    @inline(__always)
    private func rowOutputs(_ u: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                            _ store: (Int, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) -> Void,
                            scalar: (Int, Float, Float, Float) -> Void) -> Float {
        let m = SIMD16<Float>(repeating: mu), minusPd = SIMD16<Float>(repeating: -pd)
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD16<Float>.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m
            store(i, uv, gv, d)
            acc = acc.addingProduct(gv, (uv - meanU).addingProduct(d, minusPd))
            i += 16
        }
        var total = acc.sum()
        while i < n {
            let uv = u[i], gv = g[i], d = x[i] - mu
            scalar(i, uv, gv, d)
            total += gv * (uv - meanU - d * pd)
            i += 1
        }
        return total
    }
}

