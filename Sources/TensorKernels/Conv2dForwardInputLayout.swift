// The forward pass's prepared input (see Conv2d.swift): a zero-padded, phase-split copy of each
// image from which the implicit GEMM (forward and weight gradient) gathers its packed panels.

/// Layout of the forward pass's prepared input: per image [C][phA][phB][Hq][Wq].
struct ForwardInputLayout {
    let phA: Int, phB: Int, Hq: Int, Wq: Int
    let C: Int, H: Int, W: Int, sh: Int, sw: Int, ph: Int, pw: Int

    init(_ g: Conv2dGeometry) {
        C = g.inChannels; H = g.inHeight; W = g.inWidth
        sh = g.strideHeight; sw = g.strideWidth; ph = g.paddingHeight; pw = g.paddingWidth
        phA = min(sh, g.kernelHeight)
        phB = min(sw, g.kernelWidth)
        // Rows a + sh·i of the padded input, i < Hq, cover every oh·sh + kh.
        let needH = (g.outHeight - 1) * sh + g.kernelHeight
        let needW = (g.outWidth - 1) * sw + g.kernelWidth
        Hq = ceilDiv(max(needH, 1), sh)
        Wq = ceilDiv(max(needW, 1), sw)
    }

    var plane: Int { Hq * Wq }
    var imgStride: Int { C * phA * phB * plane }

    /// Offset of GEMM row (c, kh, kw) in a prepared image.
    func rowOffset(c: Int, kh: Int, kw: Int) -> Int {
        ((c * phA + kh % sh) * phB + kw % sw) * plane + (kh / sh) * Wq + kw / sw
    }

    /// Writes the prepared form of one input image `src` [C, H, W] into `dst`.
    func build(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        for c in 0..<C {
            let s = src + c * H * W
            for a in 0..<phA {
                for b in 0..<phB {
                    let d = dst + ((c * phA + a) * phB + b) * plane
                    // Valid j: 0 ≤ b + sw·j − pw < W.
                    let jLo = min(Wq, max(0, ceilDiv(pw - b, sw)))
                    let jHi = max(jLo, min(Wq, floorDiv(W - 1 + pw - b, sw) + 1))
                    for i in 0..<Hq {
                        let y = a + sh * i - ph
                        let row = d + i * Wq
                        if y < 0 || y >= H {
                            if Wq < 32 {
                                for j in 0..<Wq { row[j] = 0 }
                            } else {
                                row.update(repeating: 0, count: Wq)
                            }
                            continue
                        }
                        let sr = s + y * W + b - pw
                        if Wq < 32 {
                            // Short rows: plain loops beat memset/memmove calls.
                            for j in 0..<jLo { row[j] = 0 }
                            for j in jLo..<jHi { row[j] = sr[j * sw] }
                            for j in jHi..<Wq { row[j] = 0 }
                            continue
                        }
                        if jLo > 0 { row.update(repeating: 0, count: jLo) }
                        if sw == 1 {
                            (row + jLo).update(from: sr + jLo, count: jHi - jLo)
                        } else if sw == 2 {
                            // Even lanes of 32 consecutive floats, while they stay inside the row.
                            var j = jLo
                            let rowEnd = s + (y + 1) * W
                            while j + 16 <= jHi && sr + 2 * j + 32 <= rowEnd {
                                let a = load16(sr + 2 * j), b = load16(sr + 2 * j + 16)
                                store16(row + j, evenLanes(a, b))
                                j += 16
                            }
                            while j < jHi { row[j] = sr[2 * j]; j += 1 }
                        } else {
                            for j in jLo..<jHi { row[j] = sr[j * sw] }
                        }
                        if jHi < Wq { (row + jHi).update(repeating: 0, count: Wq - jHi) }
                    }
                }
            }
        }
    }
}

extension ForwardInputLayout {
    /// The offset of every GEMM row (c, kh, kw), in row order, into the prepared input of one
    /// image: the table both the forward pass and the weight gradient gather panels with.
    /// The caller deallocates it.
    func rowOffsetTable(_ g: Conv2dGeometry) -> UnsafeMutablePointer<Int> {
        let rows = g.inChannels * g.kernelHeight * g.kernelWidth
        let table = UnsafeMutablePointer<Int>.allocate(capacity: max(rows, 1))
        for c in 0..<g.inChannels {
            for kh in 0..<g.kernelHeight {
                for kw in 0..<g.kernelWidth {
                    table[(c * g.kernelHeight + kh) * g.kernelWidth + kw] = rowOffset(c: c, kh: kh, kw: kw)
                }
            }
        }
        return table
    }
}

/// The even lanes of a followed by the even lanes of b.
@inline(__always)
func evenLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
}

/// The odd lanes of a followed by the odd lanes of b.
@inline(__always)
func oddLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16<Float>(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15])
}
