// The last step of a strided backward-input pass run in image chunks: the phases, computed into a
// phase-planar scratch, are interleaved into dx row by row (Conv2dBackwardInputPhases.swift).

@inline(__always)
func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }

/// Writes dx for `images` from the phase-planar scratch of one chunk: phase p of local image li,
/// channel c, grid row u', column v' is at temp[tempOffset[p] + ((li·C + c)·gh + u')·gw + v'].
/// Phases missing from `phaseAt` (no taps) contribute zeros.
func interleavePhases(dx: UnsafeMutablePointer<Float>, images: Range<Int>, temp: UnsafePointer<Float>,
                      tempOffset: [Int], phases: [BackwardInputPhase], phaseAt: [Int], C: Int, H: Int, W: Int,
                      sh: Int, sw: Int, ph: Int, pw: Int) {
    // Row range per α and column range per β (shared by all phases with that α / β).
    var u0 = [Int](repeating: 0, count: sh), gh = [Int](repeating: 0, count: sh)
    var v0 = [Int](repeating: 0, count: sw), gw = [Int](repeating: 0, count: sw)
    for q in phases {
        u0[q.alpha] = q.u0; gh[q.alpha] = q.gh
        v0[q.beta] = q.v0; gw[q.beta] = q.gw
    }
    let zeros = SIMD16<Float>()
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: sw) { srcBuf in
        let src = srcBuf.baseAddress!
        for (li, i) in images.enumerated() {
            for c in 0..<C {
                let plane = dx + (i * C + c) * H * W
                for a in 0..<sh where gh[a] > 0 {
                    // src[b] + v = phase (a, b) value at global column v of grid row 0.
                    for b in 0..<sw {
                        let p = phaseAt[a * sw + b]
                        src[b] = p < 0 ? nil : temp + tempOffset[p] + (li * C + c) * gh[a] * gw[b] - v0[b]
                    }
                    for r in 0..<gh[a] {
                        let dst = plane + (sh * (u0[a] + r) + a - ph) * W
                        if sw == 2 {
                            // dx[2m + e] = src[β_e][m + d_e], β_e = (e + pw) mod 2, d_e = (e + pw − β_e) / 2.
                            let b0 = pw % 2, b1 = (1 + pw) % 2
                            let d0 = (pw - b0) / 2, d1 = (1 + pw - b1) / 2
                            let s0 = src[b0].map { $0 + r * gw[b0] + d0 }
                            let s1 = src[b1].map { $0 + r * gw[b1] + d1 }
                            var m = 0
                            while 2 * m + 32 <= W {
                                let x0 = s0.map { load16($0 + m) } ?? zeros
                                let x1 = s1.map { load16($0 + m) } ?? zeros
                                store16(dst + 2 * m, zipLow(x0, x1))
                                store16(dst + 2 * m + 16, zipHigh(x0, x1))
                                m += 16
                            }
                            if 2 * m + 16 <= W {
                                let x0 = s0.map { load16($0 + m) } ?? zeros
                                let x1 = s1.map { load16($0 + m) } ?? zeros
                                store16(dst + 2 * m, zipLow(x0, x1))
                                m += 8
                            }
                            if 2 * m + 8 <= W {
                                let x0 = s0.map { load4($0 + m) } ?? SIMD4<Float>()
                                let x1 = s1.map { load4($0 + m) } ?? SIMD4<Float>()
                                UnsafeMutableRawPointer(dst + 2 * m).storeBytes(
                                    of: SIMD8<Float>(x0[0], x1[0], x0[1], x1[1], x0[2], x1[2], x0[3], x1[3]),
                                    as: SIMD8<Float>.self)
                                m += 4
                            }
                            var iw = 2 * m
                            while iw < W {
                                let sp = iw & 1 == 0 ? s0 : s1
                                dst[iw] = sp.map { $0[iw / 2] } ?? 0
                                iw += 1
                            }
                        } else {
                            for iw in 0..<W {
                                let b = (iw + pw) % sw
                                let v = (iw + pw - b) / sw
                                dst[iw] = src[b].map { $0[r * gw[b] + v] } ?? 0
                            }
                        }
                    }
                }
            }
        }
    }
}
