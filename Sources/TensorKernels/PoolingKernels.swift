/// Max-pooling kernels over NCHW planes.

/// Non-overlapping 2×2 max pooling: for every plane `[H, W]` writes the window maxima to
/// `values` (`[H/2, W/2]` per plane) and their flat input indices to `indices` (the first
/// maximum in row-major window order wins ties). Sixteen windows at a time with SIMD compares;
/// planes are spread over the threads.
public func maxPool2x2(_ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                       values: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) {
    let span = KernelProfile.open("pooling")
    defer { span?.close() }
    let outH = height / 2, outW = width / 2
    let perPlane = outH * outW
    let out = SendablePointer(values), idx = SendablePointer(indices)
    parallelFor(planes, minimumWorkPerThread: max(1, 16_384 / max(perPlane, 1))) { range in
        let lanes = SIMD16<Int32>(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
        for plane in range {
            let base = plane * height * width
            for oy in 0..<outH {
                let row0 = base + 2 * oy * width, row1 = row0 + width
                let o = plane * perPlane + oy * outW
                var ox = 0
                while 2 * ox + 32 <= width {
                    let a = UnsafeRawPointer(x + row0 + 2 * ox).loadUnaligned(as: SIMD32<Float>.self)
                    let b = UnsafeRawPointer(x + row1 + 2 * ox).loadUnaligned(as: SIMD32<Float>.self)
                    let first = SIMD16<Int32>(repeating: Int32(row0 + 2 * ox)) &+ lanes
                    var best = a.evenHalf, at = first
                    var m = a.oddHalf .> best
                    best.replace(with: a.oddHalf, where: m); at.replace(with: first &+ 1, where: m)
                    m = b.evenHalf .> best
                    best.replace(with: b.evenHalf, where: m); at.replace(with: first &+ Int32(width), where: m)
                    m = b.oddHalf .> best
                    best.replace(with: b.oddHalf, where: m); at.replace(with: first &+ Int32(width + 1), where: m)
                    UnsafeMutableRawPointer(out.p + o + ox).storeBytes(of: best, as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(idx.p + o + ox).storeBytes(of: at, as: SIMD16<Int32>.self)
                    ox += 16
                }
                while ox < outW {
                    var k = row0 + 2 * ox
                    for candidate in [row0 + 2 * ox + 1, row1 + 2 * ox, row1 + 2 * ox + 1] where x[candidate] > x[k] { k = candidate }
                    out.p[o + ox] = x[k]
                    idx.p[o + ox] = Int32(k)
                    ox += 1
                }
            }
        }
    }
}

/// Non-overlapping 2×2 average pooling, `[H, W] → [H/2, W/2]` per plane:
///   y[i, j] = ¼·(((x[2i, 2j] + x[2i, 2j+1]) + x[2i+1, 2j]) + x[2i+1, 2j+1])
/// (the generic window loop's order of summation, so the results agree bit for bit).
/// Sixteen windows at a time; planes are spread over the threads.
public func avgPool2x2(_ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("pooling")
    defer { span?.close() }
    let outH = height / 2, outW = width / 2
    let out = SendablePointer(y)
    parallelFor(planes, minimumWorkPerThread: max(1, 16_384 / max(outH * outW, 1))) { range in
        for plane in range {
            for oy in 0..<outH {
                let row0 = x + plane * height * width + 2 * oy * width, row1 = row0 + width
                let o = out.p + (plane * outH + oy) * outW
                var ox = 0
                while 2 * ox + 32 <= width {
                    let a = UnsafeRawPointer(row0 + 2 * ox).loadUnaligned(as: SIMD32<Float>.self)
                    let b = UnsafeRawPointer(row1 + 2 * ox).loadUnaligned(as: SIMD32<Float>.self)
                    let sum = ((a.evenHalf + a.oddHalf) + b.evenHalf) + b.oddHalf
                    UnsafeMutableRawPointer(o + ox).storeBytes(of: sum * 0.25, as: SIMD16<Float>.self)
                    ox += 16
                }
                while ox < outW {
                    o[ox] = (((row0[2 * ox] + row0[2 * ox + 1]) + row1[2 * ox]) + row1[2 * ox + 1]) * 0.25
                    ox += 1
                }
            }
        }
    }
}

/// The adjoint of `avgPool2x2`: each gradient g[i, j] is spread as ¼·g[i, j] over its window of
/// `dx` (`[H, W]` per plane). A last odd row or column lies in no window and is set to zero.
public func avgPool2x2Adjoint(_ g: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                              into dx: UnsafeMutablePointer<Float>) {
    let span = KernelProfile.open("pooling")
    defer { span?.close() }
    let outH = height / 2, outW = width / 2
    let out = SendablePointer(dx)
    parallelFor(planes, minimumWorkPerThread: max(1, 16_384 / max(outH * outW, 1))) { range in
        for plane in range {
            let d = out.p + plane * height * width
            for oy in 0..<outH {
                let row0 = d + 2 * oy * width, row1 = row0 + width
                let src = g + (plane * outH + oy) * outW
                for ox in 0..<outW {
                    let v = src[ox] * 0.25
                    row0[2 * ox] = v; row0[2 * ox + 1] = v
                    row1[2 * ox] = v; row1[2 * ox + 1] = v
                }
                if width % 2 == 1 { row0[width - 1] = 0; row1[width - 1] = 0 }
            }
            if height % 2 == 1 { (d + (height - 1) * width).update(repeating: 0, count: width) }
        }
    }
}
