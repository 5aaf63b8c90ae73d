// Winograd F(4×4, 3×3): the transforms of 4×4 output tiles, for the three passes of the Winograd
// path (Conv2dWinograd.swift and Conv2dWinogradWeightGrad.swift run them with
// `WinogradShape.tile` = 4).
//
// A 4×4 output tile reads a 6×6 input patch; per filter pair it takes 36 products instead of
// F(2×2, 3×3)'s 16 per 2×2 tile, i.e. 2.25 per output pixel instead of 4 (1.78× fewer, and 4×
// fewer than the 9 of the direct convolution). The transforms come from the Cook–Toom
// construction on the interpolation points 0, 1, −1, ½, −2 and ∞ (Lavin & Gray 2016 used
// 0, ±1, ±2, ∞): Barabasz et al., "Error analysis and improving the accuracy of Winograd
// convolution for deep neural networks" (ACM TOMS 2020), found this set the most accurate for
// F(4, 3), and a float32 check of both sets against a float64 direct correlation (uniform data in
// [−1, 1], error max|Y − ref| / max(1, max|ref|), 16 filters) agreed: 1.9e-6 / 3.9e-6 / 4.0e-6 at
// 64 / 256 / 512 input channels against 3.8e-6 / 7.7e-6 / 1.2e-5 for 0, ±1, ±2 (F(2×2, 3×3):
// 2.6e-7 / 6.5e-7 / 7.9e-7). The Winograd tests hold both tiles to the same 1e-5.
//
// With the rows of Bᵀ scaled by 2 and those of G by ½ (powers of two: the rounding is unchanged),
//
//   Bᵀ = [2 −3 −4  3  2  0]    G = [ ½     0     0  ]    Aᵀ = [1  1  1  1    1  0]
//        [0 −2  1  5  2  0]        [ ⅙     ⅙     ⅙  ]         [0  1 −1  ½   −2  0]
//        [0  2 −5  1  2  0]        [−⅙     ⅙    −⅙  ]         [0  1  1  ¼    4  0]
//        [0 −4 −2  4  2  0]        [−8/15 −4/15 −2/15]         [0  1 −1  ⅛   −8  1]
//        [0  1 −2 −1  2  0]        [1/30 −1/15  2/15]
//        [0  2 −3 −4  3  2]        [ 0     0     ½  ]
//
// and Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for a 3×3 filter g and a 6×6 patch d (correlation, as the
// convolution layers compute it). Positions ξ = 6a + b of the transformed tile are the 36 GEMMs.

/// 4×4 output tiles of `g` over the batch.
@inline(__always)
func winogradLargeTiles(_ g: Conv2dGeometry) -> Int { g.batch * ((g.outHeight + 3) / 4) * ((g.outWidth + 3) / 4) }

/// Smallest channel count (in and out) for F(4×4, 3×3): its 2.25 products per output pixel and
/// filter pair (F(2×2)'s 4) pay for the transforms from 32 channels, on any tile-row width.
let winogradLargeTileMinChannels = 32

/// Whether `conv2dForward` / `conv2dBackwardInput` run `g` on F(4×4, 3×3) tiles: a 3×3,
/// stride-1 geometry with ≥ `winogradLargeTileMinChannels` channels in and out (`winogradFits`)
/// and at least `largeTileMinTiles` 4×4 tiles (`WinogradThresholds` of the current tiling),
/// unless `KernelSettings.winogradLargeTiles` (or `winograd`) is off. Unlike F(2×2) it takes
/// tile rows of any width (the SmallCNN's 24- and 26-pixel maps: 6 and 7 tiles).
func winogradLargeTilesApply(_ g: Conv2dGeometry) -> Bool {
    let settings = KernelSettings.current
    return settings.winogradLargeTiles && winogradFits(g, minChannels: winogradLargeTileMinChannels)
        && winogradLargeTiles(g) >= WinogradThresholds.of(settings.tiling).largeTileMinTiles
}

/// Whether `conv2dBackwardWeight` runs `g` on F(4×4, 3×3) tiles: as the forward rule, with at
/// least `weightGradLargeTileMinTiles` 4×4 tiles and F(2×2)'s weight-gradient bound on 2×2 tiles
/// (`weightGradMinTiles`; it keeps tiny maps, e.g. 2×2 ones, whose 4×4 tiles are mostly
/// padding, on the direct path).
func winogradWeightGradLargeTilesApply(_ g: Conv2dGeometry) -> Bool {
    let settings = KernelSettings.current
    let bounds = WinogradThresholds.of(settings.tiling)
    return settings.winogradLargeTiles && winogradFits(g, minChannels: winogradLargeTileMinChannels)
        && winogradLargeTiles(g) >= bounds.weightGradLargeTileMinTiles && winogradTiles(g) >= bounds.weightGradMinTiles
}

// MARK: - Transforms

/// One column (or row) of U = G g Gᵀ: the six entries G·(g0, g1, g2)ᵀ.
@inline(__always)
private func filterColumn(_ g0: SIMD16<Float>, _ g1: SIMD16<Float>, _ g2: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    let outer = g0 + g2
    return (0.5 * g0,
            (outer + g1) * (1 / 6 as Float),
            (g1 - outer) * (1 / 6 as Float),
            (4 * g0 + 2 * g1 + g2) * (-2 / 15 as Float),
            (g0 - 2 * g1 + 4 * g2) * (1 / 30 as Float),
            0.5 * g2)
}

/// U = G g Gᵀ for 16 filters at once; `g[3i + j]` holds tap (i, j) of each filter, `u[6a + b]`
/// receives position ξ = 6a + b of U (36 vectors).
@inline(__always)
func winogradLargeTileFilterTransform(_ g: UnsafePointer<SIMD16<Float>>, into u: UnsafeMutablePointer<SIMD16<Float>>) {
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 18) { buf in
        // t = G g (6×3), row a at t[3a…]; then U = t Gᵀ, row a from t's row a.
        let t = buf.baseAddress!
        for j in 0..<3 {
            let c = filterColumn(g[j], g[3 + j], g[6 + j])
            t[j] = c.0; t[3 + j] = c.1; t[6 + j] = c.2; t[9 + j] = c.3; t[12 + j] = c.4; t[15 + j] = c.5
        }
        for a in 0..<6 {
            let r = filterColumn(t[3 * a], t[3 * a + 1], t[3 * a + 2])
            u[6 * a] = r.0; u[6 * a + 1] = r.1; u[6 * a + 2] = r.2; u[6 * a + 3] = r.3; u[6 * a + 4] = r.4; u[6 * a + 5] = r.5
        }
    }
}

/// One column (or row) of V = Bᵀ d B: Bᵀ·(d0, …, d5)ᵀ, with a = d3 − d1 and b = d4 − d2 shared.
@inline(__always)
private func dataColumn(_ d0: SIMD16<Float>, _ d1: SIMD16<Float>, _ d2: SIMD16<Float>, _ d3: SIMD16<Float>,
                        _ d4: SIMD16<Float>, _ d5: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    let a = d3 - d1, b = d4 - d2
    return (2 * (d0 - d2 + b) + 3 * a,          // 2d0 − 3d1 − 4d2 + 3d3 + 2d4
            2 * (a + b) + 3 * (d2 + d3),        // −2d1 + d2 + 5d3 + 2d4
            2 * (b - a) + 3 * (d3 - d2),        // 2d1 − 5d2 + d3 + 2d4
            2 * b + 4 * a,                      // −4d1 − 2d2 + 4d3 + 2d4
            2 * b - a,                          // d1 − 2d2 − d3 + 2d4
            2 * (d5 - d3 - a) + 3 * b)          // 2d1 − 3d2 − 4d3 + 3d4 + 2d5
}

/// V = Bᵀ d B for 16 tiles at once; `d[6i + j]` is element (i, j) of each 6×6 patch and
/// `v[6a + b]` receives position ξ = 6a + b.
@inline(__always)
func winogradLargeTileDataTransform(_ d: UnsafePointer<SIMD16<Float>>, into v: UnsafeMutablePointer<SIMD16<Float>>) {
    for j in 0..<6 {
        let c = dataColumn(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j])
        v[j] = c.0; v[6 + j] = c.1; v[12 + j] = c.2; v[18 + j] = c.3; v[24 + j] = c.4; v[30 + j] = c.5
    }
    for a in 0..<6 {
        let e = v + 6 * a
        let r = dataColumn(e[0], e[1], e[2], e[3], e[4], e[5])
        e[0] = r.0; e[1] = r.1; e[2] = r.2; e[3] = r.3; e[4] = r.4; e[5] = r.5
    }
}

/// One column (or row) of Y = Aᵀ M A: the four entries Aᵀ·(m0, …, m5)ᵀ.
@inline(__always)
private func outputColumn(_ m0: SIMD16<Float>, _ m1: SIMD16<Float>, _ m2: SIMD16<Float>, _ m3: SIMD16<Float>,
                          _ m4: SIMD16<Float>, _ m5: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    let p = m1 + m2, q = m1 - m2
    return (m0 + p + m3 + m4,
            q + 0.5 * m3 - 2 * m4,
            p + 0.25 * m3 + 4 * m4,
            q + 0.125 * m3 - 8 * m4 + m5)
}

/// Aᵀ M for the 16 tiles in `m` (m[ξ], ξ = 6i + j), in place: afterwards m[6a + j] holds row a
/// (0…3) of Aᵀ M, column j — the input of `winogradLargeTileOutputRow`.
@inline(__always)
func winogradLargeTileOutputColumns(_ m: UnsafeMutablePointer<SIMD16<Float>>) {
    for j in 0..<6 {
        let c = outputColumn(m[j], m[6 + j], m[12 + j], m[18 + j], m[24 + j], m[30 + j])
        m[j] = c.0; m[6 + j] = c.1; m[12 + j] = c.2; m[18 + j] = c.3
    }
}

/// Output row a (0…3) of the 16 tiles whose Aᵀ M is in `t` (`winogradLargeTileOutputColumns`),
/// interleaved into `row`: tile q's four pixels at 4q…4q + 3 (64 floats).
@inline(__always)
func winogradLargeTileOutputRow(_ t: UnsafePointer<SIMD16<Float>>, _ a: Int, into row: UnsafeMutablePointer<Float>) {
    let e = t + 6 * a
    let y = outputColumn(e[0], e[1], e[2], e[3], e[4], e[5])
    // Four-way interleave: [y0_q, y1_q, y2_q, y3_q] for q = 0…15.
    let low02 = zipLow(y.0, y.2), low13 = zipLow(y.1, y.3)
    let high02 = zipHigh(y.0, y.2), high13 = zipHigh(y.1, y.3)
    store16(row, zipLow(low02, low13))
    store16(row + 16, zipHigh(low02, low13))
    store16(row + 32, zipLow(high02, high13))
    store16(row + 48, zipHigh(high02, high13))
}

/// The `size`×`size` patches of 16 consecutive F(4×4) tiles, 4 columns apart: `d[size·i + j]`
/// holds, for tile q, column `column + 4q + j` of row i (`rowWidth` floats apart). `size` 6
/// (input patches) reads columns j = 4, 5 `rightOffset` floats after columns 0, 1 (4 in a plain
/// row; gathered rows keep them apart); `size` 4 (output-gradient tiles) stops at j = 3. Each
/// row's 64 floats are split four ways (two rounds of even/odd lanes).
@inline(__always)
func largeTilePatches(_ rowBuffer: UnsafePointer<Float>, rowWidth: Int, size: Int, column: Int, rightOffset: Int,
                      into d: UnsafeMutablePointer<SIMD16<Float>>) {
    for i in 0..<size {
        let p = rowBuffer + i * rowWidth + column
        let v0 = load16(p), v1 = load16(p + 16), v2 = load16(p + 32), v3 = load16(p + 48)
        let even0 = evenLanes(v0, v1), even1 = evenLanes(v2, v3)
        let odd0 = oddLanes(v0, v1), odd1 = oddLanes(v2, v3)
        d[size * i] = evenLanes(even0, even1)
        d[size * i + 1] = evenLanes(odd0, odd1)
        d[size * i + 2] = oddLanes(even0, even1)
        d[size * i + 3] = oddLanes(odd0, odd1)
        if size == 4 { continue }
        let r = p + rightOffset
        let w0 = load16(r), w1 = load16(r + 16), w2 = load16(r + 32), w3 = load16(r + 48)
        d[6 * i + 4] = evenLanes(evenLanes(w0, w1), evenLanes(w2, w3))
        d[6 * i + 5] = evenLanes(oddLanes(w0, w1), oddLanes(w2, w3))
    }
}

// MARK: - Weight gradient

/// One column (or row) of Ŷ = A dY Aᵀ: the six entries A·(d0, …, d3)ᵀ (A = (Aᵀ)ᵀ, 6×4).
@inline(__always)
private func gradientColumn(_ d0: SIMD16<Float>, _ d1: SIMD16<Float>, _ d2: SIMD16<Float>, _ d3: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    let even = d0 + d2, odd = d1 + d3
    return (d0, even + odd, even - odd,
            d0 + 0.5 * d1 + 0.25 * d2 + 0.125 * d3,
            d0 - 2 * d1 + 4 * d2 - 8 * d3,
            d3)
}

/// Ŷ = A dY Aᵀ for 16 tiles at once; `d[4a + b]` is element (a, b) of each 4×4 gradient tile and
/// `y[6i + j]` receives position ξ = 6i + j (36 vectors).
@inline(__always)
func winogradLargeTileGradientTransform(_ d: UnsafePointer<SIMD16<Float>>, into y: UnsafeMutablePointer<SIMD16<Float>>) {
    // A dY (6×4) into y[6i + b], b < 4; then each row i of it times Aᵀ, in place.
    for b in 0..<4 {
        let c = gradientColumn(d[b], d[4 + b], d[8 + b], d[12 + b])
        y[b] = c.0; y[6 + b] = c.1; y[12 + b] = c.2; y[18 + b] = c.3; y[24 + b] = c.4; y[30 + b] = c.5
    }
    for i in 0..<6 {
        let e = y + 6 * i
        let r = gradientColumn(e[0], e[1], e[2], e[3])
        e[0] = r.0; e[1] = r.1; e[2] = r.2; e[3] = r.3; e[4] = r.4; e[5] = r.5
    }
}

/// One column (or row) of Gᵀ Z G: the three entries Gᵀ·(z0, …, z5)ᵀ.
@inline(__always)
private func filterGradientColumn(_ z0: SIMD16<Float>, _ z1: SIMD16<Float>, _ z2: SIMD16<Float>, _ z3: SIMD16<Float>,
                                  _ z4: SIMD16<Float>, _ z5: SIMD16<Float>) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    let difference = (z1 - z2) * (1 / 6 as Float), sum = (z1 + z2) * (1 / 6 as Float)
    return (0.5 * z0 + difference - (8 / 15 as Float) * z3 + (1 / 30 as Float) * z4,
            sum - (4 / 15 as Float) * z3 - (1 / 15 as Float) * z4,
            difference - (2 / 15 as Float) * z3 + (2 / 15 as Float) * z4 + 0.5 * z5)
}

/// Gᵀ Z G of F(4×4, 3×3) for 16 filter pairs: `z[6i + j]` holds position ξ = 6i + j of each
/// pair's Z, tap (k, l) goes to floats 16·(3k + l)… of `taps`.
@inline(__always)
func winogradLargeTileFilterGradient(_ z: UnsafePointer<SIMD16<Float>>, into taps: UnsafeMutablePointer<Float>) {
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 18) { buf in
        // Gᵀ Z (3×6) at h[6k + j]; then row k of it times G gives taps (k, 0…2).
        let h = buf.baseAddress!
        for j in 0..<6 {
            let c = filterGradientColumn(z[j], z[6 + j], z[12 + j], z[18 + j], z[24 + j], z[30 + j])
            h[j] = c.0; h[6 + j] = c.1; h[12 + j] = c.2
        }
        for k in 0..<3 {
            let e = h + 6 * k
            let r = filterGradientColumn(e[0], e[1], e[2], e[3], e[4], e[5])
            store16(taps + 16 * (3 * k), r.0)
            store16(taps + 16 * (3 * k + 1), r.1)
            store16(taps + 16 * (3 * k + 2), r.2)
        }
    }
}
