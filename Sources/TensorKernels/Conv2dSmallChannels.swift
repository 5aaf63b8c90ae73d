// Backward-input pass for convolutions with very few input channels (2 ≤ C ≤ 4, stride 1), such
// as an RGB first layer: there the GEMM's M dimension (C) fills at most a third of a 12-row
// micro-tile and every packed B panel would serve a single tile. (C = 1 goes through the column
// path, whose GEMM has M = KH·KW.) Instead, each group of 64
// consecutive positions of the padded dx grid (rows of DW floats, the last DW − W of each row
// discarded) is accumulated directly from the zero-padded dy:
//   dx[c, q] = Σ_k A[c, k] · DYP[rowOff[k] + q],   q = ih·DW + iw,
// four 16-lane vectors of q per k step, one broadcast weight per input channel.

/// Accumulates `cc` (1…4, a constant after inlining) channels × 64 positions into `acc`
/// (row c at acc + 64·c). `a` holds A[c, k] at a[4·k + c].
@inline(__always)
func smallChannelChunk(_ cc: Int, k: Int, x: UnsafePointer<Float>, rowOff: UnsafePointer<Int>,
                       a: UnsafePointer<Float>, acc: UnsafeMutablePointer<Float>) {
    var r00 = SIMD16<Float>(), r01 = SIMD16<Float>(), r02 = SIMD16<Float>(), r03 = SIMD16<Float>()
    var r10 = SIMD16<Float>(), r11 = SIMD16<Float>(), r12 = SIMD16<Float>(), r13 = SIMD16<Float>()
    var r20 = SIMD16<Float>(), r21 = SIMD16<Float>(), r22 = SIMD16<Float>(), r23 = SIMD16<Float>()
    var r30 = SIMD16<Float>(), r31 = SIMD16<Float>(), r32 = SIMD16<Float>(), r33 = SIMD16<Float>()
    var kk = 0
    while kk < k {
        let base = x + rowOff[kk]
        let v0 = load16(base), v1 = load16(base + 16), v2 = load16(base + 32), v3 = load16(base + 48)
        let ak = a + 4 * kk
        let w0 = SIMD16<Float>(repeating: ak[0])
        r00 = r00.addingProduct(w0, v0); r01 = r01.addingProduct(w0, v1)
        r02 = r02.addingProduct(w0, v2); r03 = r03.addingProduct(w0, v3)
        if cc > 1 {
            let w1 = SIMD16<Float>(repeating: ak[1])
            r10 = r10.addingProduct(w1, v0); r11 = r11.addingProduct(w1, v1)
            r12 = r12.addingProduct(w1, v2); r13 = r13.addingProduct(w1, v3)
        }
        if cc > 2 {
            let w2 = SIMD16<Float>(repeating: ak[2])
            r20 = r20.addingProduct(w2, v0); r21 = r21.addingProduct(w2, v1)
            r22 = r22.addingProduct(w2, v2); r23 = r23.addingProduct(w2, v3)
        }
        if cc > 3 {
            let w3 = SIMD16<Float>(repeating: ak[3])
            r30 = r30.addingProduct(w3, v0); r31 = r31.addingProduct(w3, v1)
            r32 = r32.addingProduct(w3, v2); r33 = r33.addingProduct(w3, v3)
        }
        kk += 1
    }
    store16(acc, r00); store16(acc + 16, r01); store16(acc + 32, r02); store16(acc + 48, r03)
    if cc > 1 { store16(acc + 64, r10); store16(acc + 80, r11); store16(acc + 96, r12); store16(acc + 112, r13) }
    if cc > 2 { store16(acc + 128, r20); store16(acc + 144, r21); store16(acc + 160, r22); store16(acc + 176, r23) }
    if cc > 3 { store16(acc + 192, r30); store16(acc + 208, r31); store16(acc + 224, r32); store16(acc + 240, r33) }
}

@inline(never)
func smallChannelChunk2(k: Int, x: UnsafePointer<Float>, rowOff: UnsafePointer<Int>, a: UnsafePointer<Float>,
                        acc: UnsafeMutablePointer<Float>) {
    smallChannelChunk(2, k: k, x: x, rowOff: rowOff, a: a, acc: acc)
}

@inline(never)
func smallChannelChunk3(k: Int, x: UnsafePointer<Float>, rowOff: UnsafePointer<Int>, a: UnsafePointer<Float>,
                        acc: UnsafeMutablePointer<Float>) {
    smallChannelChunk(3, k: k, x: x, rowOff: rowOff, a: a, acc: acc)
}

@inline(never)
func smallChannelChunk4(k: Int, x: UnsafePointer<Float>, rowOff: UnsafePointer<Int>, a: UnsafePointer<Float>,
                        acc: UnsafeMutablePointer<Float>) {
    smallChannelChunk(4, k: k, x: x, rowOff: rowOff, a: a, acc: acc)
}

/// dx for a stride-1 convolution with C ≤ 4 from the prepared (zero-padded) dy `prep`, whose
/// single phase is `pr` (grid H × W, rows DW = pr.xRow apart). `a4` is A[c, k] at a4[4·k + c].
func smallChannelBackwardInput(_ pr: ImplicitGEMMProblem, C: Int, H: Int, W: Int, a4: UnsafePointer<Float>,
                               imgStride: Int, build: (Int, UnsafeMutablePointer<Float>) -> Void,
                               dx: UnsafeMutablePointer<Float>, threads: Int) {
    let DW = pr.xRow
    let span = H * DW
    let width = 64   // positions per chunk
    let chunks = (span + width - 1) / width
    let items = pr.images * chunks
    let out = SendablePointer(dx)
    let body: (Int) -> Void = { t in
        // The current image's padded dy, built per worker so it stays in cache.
        let img = ScratchBuffer(imgStride + 2 * convSlack)
        defer { img.free() }
        img.p.update(repeating: 0, count: convSlack)
        (img.p + convSlack + imgStride).update(repeating: 0, count: convSlack)
        var current = -1
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 16) { buf in
            // acc: channel c's values at acc + 64·c.
            let acc = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: Float.self)
            var item = t * items / threads
            let end = (t + 1) * items / threads
            while item < end {
                let n = item / chunks, q0 = (item - n * chunks) * width
                if n != current {
                    build(n, img.p + convSlack)
                    current = n
                }
                let x = img.p + convSlack + q0
                switch C {
                case 2: smallChannelChunk2(k: pr.k, x: x, rowOff: pr.rowOff, a: a4, acc: acc)
                case 3: smallChannelChunk3(k: pr.k, x: x, rowOff: pr.rowOff, a: a4, acc: acc)
                default: smallChannelChunk4(k: pr.k, x: x, rowOff: pr.rowOff, a: a4, acc: acc)
                }
                // Copy the valid lanes (iw < W) row piece by row piece.
                var q = q0
                let qEnd = min(q0 + width, span)
                while q < qEnd {
                    let ih = q / DW, iw = q - ih * DW
                    let run = min(DW - iw, qEnd - q)
                    let valid = max(0, min(run, W - iw))
                    for c in 0..<C {
                        let d = out.p + ((n * C + c) * H + ih) * W + iw
                        let s = acc + width * c + (q - q0)
                        for j in 0..<valid { d[j] = s[j] }
                    }
                    q += run
                }
                item += 1
            }
        }
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        parallelChunks(threads) { t in box.value(t) }
    }
}

/// `smallChannelBackwardInput` with the filters packed four channels wide first:
/// A[c, kk] = w[o, c, tap] at a4[4·kk + c], kk = o·KH·KW + tap (zero for c ≥ C).
func smallChannelBackwardInput(_ pr: ImplicitGEMMProblem, weight: UnsafePointer<Float>, C: Int, KH: Int, KW: Int,
                               H: Int, W: Int, imgStride: Int, build: (Int, UnsafeMutablePointer<Float>) -> Void,
                               dx: UnsafeMutablePointer<Float>, threads: Int) {
    let k = pr.k
    let a4 = UnsafeMutablePointer<Float>.allocate(capacity: 4 * k)
    defer { a4.deallocate() }
    let khw = KH * KW
    for kk in 0..<k {
        let o = kk / khw, tap = kk - o * khw
        for c in 0..<4 { a4[4 * kk + c] = c < C ? weight[(o * C + c) * khw + tap] : 0 }
    }
    smallChannelBackwardInput(pr, C: C, H: H, W: W, a4: a4, imgStride: imgStride, build: build,
                              dx: dx, threads: threads)
}
