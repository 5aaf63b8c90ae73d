// Implicit-GEMM building blocks for the convolutions: packed GEMM panels are gathered straight
// from a (padded, phase-split) copy of the input instead of from a materialised column matrix.
//
// Column grids. A convolution GEMM has one column per output pixel: j = (image, h, w) with
// h < gh, w < gw. Its operand values live in a "prepared" buffer X where
//   B[r, j] = X[rowOff[r] + img·xImg + h·xRow + w],
// i.e. every GEMM row r is a fixed offset and consecutive w are consecutive floats. For 16
// consecutive columns that is a short list of contiguous runs ("segments"); a slab table stores,
// for each run, the offset of its first float minus its first lane, so a 16-lane vector is one
// unaligned load per run, merged with lane masks. Loads may touch up to 15 floats before or after
// the run: prepared buffers carry `convSlack` zero floats on both sides.
//
// Shared work inside one fork. Operands that several workers need (prepared images, prepacked
// weight blocks) are built by whichever worker gets to them first: a per-item state (0 = todo,
// 1 = being built, 2 = ready) is claimed with a compare-exchange, and a worker that finds an item
// being built spins until it is ready. The builder never waits on anything, so this cannot
// deadlock even when `concurrentPerform` runs all iterations on one thread.

import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zero floats kept before and after every prepared buffer (over-reads of segment loads).
let convSlack = 128

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

@inline(__always)
var laneIndex16: SIMD16<Int32> { SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }

@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }

@inline(__always)
func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

// MARK: - Build-once items

/// Per-item build states (see the file header), allocated for one call.
struct OnceFlags {
    let states: UnsafeMutablePointer<Atomic<Int>>
    let count: Int

    init(_ count: Int) {
        self.count = count
        states = .allocate(capacity: max(count, 1))
        for i in 0..<max(count, 1) { (states + i).initialize(to: Atomic(0)) }
    }

    func free() {
        states.deinitialize(count: max(count, 1))
        states.deallocate()
    }

    /// Builds item `i` if nobody has claimed it; returns without waiting when someone else is
    /// building it.
    @inline(__always)
    func tryBuild(_ i: Int, _ build: () -> Void) {
        if states[i].load(ordering: .acquiring) != 0 { return }
        let (won, _) = states[i].compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing)
        if won {
            build()
            states[i].store(2, ordering: .releasing)
        }
    }

    /// Makes sure item `i` is built: builds it, or waits for the worker building it.
    @inline(__always)
    func ensure(_ i: Int, _ build: () -> Void) {
        if states[i].load(ordering: .acquiring) == 2 { return }
        tryBuild(i, build)
        var spins = 0
        while states[i].load(ordering: .acquiring) != 2 {
            spins += 1
            if spins > 256 { sched_yield() }   // the builder may have been preempted
        }
    }
}

// MARK: - Column grids and slab tables

/// Columns (image, h, w) of a convolution GEMM, h < gh, w < gw, numbered image-major.
struct ColumnGrid {
    let gh: Int, gw: Int
    var perImage: Int { gh * gw }
}

/// Gather descriptors for consecutive 16-column slabs (up to 16 segments each).
struct SlabTable {
    let offs: UnsafeMutablePointer<Int>      // [slab·16 + s]: offset of segment s minus its first lane
    let starts: UnsafeMutablePointer<Int32>  // [slab·16 + s]: first lane of segment s
    let counts: UnsafeMutablePointer<Int>    // segments per slab
    let valids: UnsafeMutablePointer<Int>    // real columns per slab (the rest read as 0)
    let capacity: Int

    init(slabs: Int) {
        capacity = max(slabs, 1)
        offs = .allocate(capacity: capacity * 16)
        starts = .allocate(capacity: capacity * 16)
        counts = .allocate(capacity: capacity)
        valids = .allocate(capacity: capacity)
    }

    func free() {
        offs.deallocate(); starts.deallocate(); counts.deallocate(); valids.deallocate()
    }

    /// Fills slabs for columns [j0, j0 + n) of `grid`, column (img, h, w) at
    /// img·imgStride + h·rowStride + w.
    func fill(_ grid: ColumnGrid, j0: Int, n: Int, imgStride: Int, rowStride: Int) {
        let per = grid.perImage
        var img = j0 / per
        let rem = j0 - img * per
        var h = rem / grid.gw
        var w = rem - h * grid.gw
        var j = 0
        var slab = 0
        while j < n {
            let lanes = min(16, n - j)
            var cnt = 0
            var prev = Int.min
            let o = offs + slab * 16, st = starts + slab * 16
            for lane in 0..<lanes {
                let off = img * imgStride + h * rowStride + w
                if lane == 0 || off != prev &+ 1 {
                    o[cnt] = off - lane
                    st[cnt] = Int32(lane)
                    cnt += 1
                }
                prev = off
                w += 1
                if w == grid.gw {
                    w = 0
                    h += 1
                    if h == grid.gh { h = 0; img += 1 }
                }
            }
            counts[slab] = cnt
            valids[slab] = lanes
            j += lanes
            slab += 1
        }
    }

    /// The 16 values of slab `s` relative to `base` (lanes past the valid count are 0).
    @inline(__always)
    func gather(_ base: UnsafePointer<Float>, _ s: Int) -> SIMD16<Float> {
        let o = offs + s * 16
        if counts[s] == 1 && valids[s] == 16 { return load16(base + o[0]) }
        return gatherSlow(base, s)
    }

    /// `gather` for slabs with several segments or missing lanes.
    @inline(never)
    func gatherSlow(_ base: UnsafePointer<Float>, _ s: Int) -> SIMD16<Float> {
        let o = offs + s * 16
        var v = load16(base + o[0])
        let c = counts[s]
        if c > 1 {
            let st = starts + s * 16
            var i = 1
            while i < c {
                v.replace(with: load16(base + o[i]), where: laneIndex16 .>= SIMD16<Int32>(repeating: st[i]))
                i += 1
            }
        }
        let valid = valids[s]
        if valid < 16 { v.replace(with: 0, where: laneIndex16 .>= SIMD16<Int32>(repeating: Int32(valid))) }
        return v
    }

    /// Offsets and lane masks of slab `s` (≤ 4 segments) padded to exactly four segments: unused
    /// segments repeat the last offset with an empty mask.
    @inline(__always)
    func fourSegments(_ s: Int) -> (Int, Int, Int, Int, SIMDMask<SIMD16<Int32>>, SIMDMask<SIMD16<Int32>>,
                                    SIMDMask<SIMD16<Int32>>) {
        let o = offs + s * 16, st = starts + s * 16
        let c = counts[s]
        let o1 = c > 1 ? o[1] : o[0], o2 = c > 2 ? o[2] : o1, o3 = c > 3 ? o[3] : o2
        let m1 = laneIndex16 .>= SIMD16<Int32>(repeating: c > 1 ? st[1] : 16)
        let m2 = laneIndex16 .>= SIMD16<Int32>(repeating: c > 2 ? st[2] : 16)
        let m3 = laneIndex16 .>= SIMD16<Int32>(repeating: c > 3 ? st[3] : 16)
        return (o[0], o1, o2, o3, m1, m2, m3)
    }

    /// True when slab `s` is one full contiguous run (a single unaligned load).
    @inline(__always)
    func isSimple(_ s: Int) -> Bool { counts[s] == 1 && valids[s] == 16 }

    /// Element-wise version of `gather` that touches only the valid lanes' floats.
    @inline(__always)
    func gatherExact(_ base: UnsafePointer<Float>, _ s: Int) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        let o = offs + s * 16, st = starts + s * 16
        let c = counts[s], valid = valids[s]
        for i in 0..<c {
            let lo = Int(st[i])
            let hi = i + 1 < c ? Int(st[i + 1]) : valid
            for lane in lo..<hi { v[lane] = base[o[i] + lane] }
        }
        return v
    }

    /// Smallest and largest float offsets (relative to a row base) that `gather(_, s)` loads.
    @inline(__always)
    func touchedRange(_ s: Int) -> (Int, Int) {
        let o = offs + s * 16
        var lo = Int.max, hi = Int.min
        for i in 0..<counts[s] {
            lo = min(lo, o[i])
            hi = max(hi, o[i] + 15)
        }
        return (lo, hi)
    }
}

// MARK: - Forward-form implicit GEMM

/// C = A · B with A prepacked (M×K) and B gathered from a prepared buffer, written through an
/// output mapping: C[m, (img, h, w)] goes to out[img·outImg + m·outChan + h·outRow + w·outCol].
struct ImplicitGEMMProblem {
    var m: Int
    var k: Int
    var grid: ColumnGrid
    var images: Int
    var x: UnsafePointer<Float>
    var xImg: Int
    var xRow: Int
    var rowOff: UnsafePointer<Int>
    var a: UnsafePointer<Float>   // prepacked: block pc at a + pc·mPadded, panel q at + q·kc·12
    var kcBlock: Int
    var out: UnsafeMutablePointer<Float>
    var outImg: Int, outChan: Int, outRow: Int, outCol: Int

    var columns: Int { images * grid.perImage }
    var mPadded: Int { packedRows(m) }
    var kBlocks: Int { (k + kcBlock - 1) / kcBlock }
}

/// K-block depth and N-block width of the implicit GEMMs.
let convKC = 256
let convNC = 768
let convMC = 144

/// Per-worker buffers of the implicit GEMMs.
struct ImplicitWorkspace {
    private let bBuf: ScratchBuffer
    private let aBuf: ScratchBuffer
    var b: UnsafeMutablePointer<Float> { bBuf.p }  // packed B block (kc × nc) + slack
    var a: UnsafeMutablePointer<Float> { aBuf.p }  // packed A block (mc × kc) + slack (weight gradient)
    let slabs: SlabTable
    let slabs2: SlabTable
    let colOut: UnsafeMutablePointer<Int>   // output offset per column of the N block
    let tile: UnsafeMutablePointer<Float>   // 12 × 32 micro-tile
    let stage: UnsafeMutablePointer<Float>  // 16 × 16 transpose staging
    let kc: Int, nc: Int, mc: Int
    /// The micro-kernel's tiling, read by the kernel entry on the calling thread.
    let tiling: GEMMTiling

    init(kc: Int = convKC, nc: Int = convNC, mc: Int = convMC, needA: Bool = false, tiling: GEMMTiling) {
        self.kc = kc; self.nc = nc; self.mc = mc; self.tiling = tiling
        let ncp = (nc + 31) / 32 * 32
        bBuf = ScratchBuffer((kc + 16) * ncp + 16 * 32 + 64)
        aBuf = ScratchBuffer(needA ? (kc + 16) * ((mc + 11) / 12 * 12) + 16 * 16 + 64 : 1)
        slabs = SlabTable(slabs: max(ncp, kc) / 16 + 2)
        slabs2 = SlabTable(slabs: max(ncp, kc) / 16 + 2)
        colOut = .allocate(capacity: ncp)
        tile = .allocate(capacity: gemmMR * gemmNR)
        stage = .allocate(capacity: 256 + 16)
    }

    func free() {
        bBuf.free(); aBuf.free(); slabs.free(); slabs2.free(); colOut.deallocate(); tile.deallocate()
        stage.deallocate()
    }
}

/// Packs the kc × nc block of B (columns described by `slabs`, 2 slabs per 32-column panel).
/// Slabs of one or two full segments (the common case) are read as two loads and a lane blend
/// with loop-invariant offsets and mask; others go through `SlabTable.gatherSlow`.
@inline(__always)
func packImplicitB(x: UnsafePointer<Float>, rowOff: UnsafePointer<Int>, kc: Int, nc: Int, slabs: SlabTable,
                   into dst: UnsafeMutablePointer<Float>) {
    let panels = (nc + gemmNR - 1) / gemmNR
    for q in 0..<panels {
        let panel = dst + q * kc * gemmNR
        let s0 = 2 * q, s1 = 2 * q + 1
        let hasSecond = nc - q * gemmNR > 16
        let easy0 = slabs.counts[s0] <= 2 && slabs.valids[s0] == 16
        let easy1 = hasSecond && slabs.counts[s1] <= 2 && slabs.valids[s1] == 16
        if easy0 && easy1 {
            let a0 = slabs.offs[s0 * 16], a1 = slabs.counts[s0] == 2 ? slabs.offs[s0 * 16 + 1] : a0
            let b0 = slabs.offs[s1 * 16], b1 = slabs.counts[s1] == 2 ? slabs.offs[s1 * 16 + 1] : b0
            let ma = laneIndex16 .>= SIMD16<Int32>(repeating: slabs.counts[s0] == 2 ? slabs.starts[s0 * 16 + 1] : 16)
            let mb = laneIndex16 .>= SIMD16<Int32>(repeating: slabs.counts[s1] == 2 ? slabs.starts[s1 * 16 + 1] : 16)
            if a0 == a1 && b0 == b1 {
                for p in 0..<kc {
                    let base = x + rowOff[p]
                    let d = panel + p * gemmNR
                    store16(d, load16(base + a0))
                    store16(d + 16, load16(base + b0))
                }
            } else {
                for p in 0..<kc {
                    let base = x + rowOff[p]
                    let d = panel + p * gemmNR
                    var u = load16(base + a0)
                    u.replace(with: load16(base + a1), where: ma)
                    var v = load16(base + b0)
                    v.replace(with: load16(base + b1), where: mb)
                    store16(d, u)
                    store16(d + 16, v)
                }
            }
        } else if hasSecond && slabs.counts[s0] <= 4 && slabs.counts[s1] <= 4 && slabs.valids[s0] == 16
                    && slabs.valids[s1] == 16 {
            // Narrow outputs (several rows per slab): up to four loads and blends per half.
            let (a0, a1, a2, a3, ma1, ma2, ma3) = slabs.fourSegments(s0)
            let (b0, b1, b2, b3, mb1, mb2, mb3) = slabs.fourSegments(s1)
            for p in 0..<kc {
                let base = x + rowOff[p]
                let d = panel + p * gemmNR
                var u = load16(base + a0)
                u.replace(with: load16(base + a1), where: ma1)
                u.replace(with: load16(base + a2), where: ma2)
                u.replace(with: load16(base + a3), where: ma3)
                var v = load16(base + b0)
                v.replace(with: load16(base + b1), where: mb1)
                v.replace(with: load16(base + b2), where: mb2)
                v.replace(with: load16(base + b3), where: mb3)
                store16(d, u)
                store16(d + 16, v)
            }
        } else if hasSecond {
            for p in 0..<kc {
                let base = x + rowOff[p]
                let d = panel + p * gemmNR
                store16(d, slabs.gather(base, s0))
                store16(d + 16, slabs.gather(base, s1))
            }
        } else {
            for p in 0..<kc {
                let base = x + rowOff[p]
                let d = panel + p * gemmNR
                store16(d, slabs.gather(base, s0))
                store16(d + 16, SIMD16<Float>())
            }
        }
    }
}

/// Runs the implicit GEMM on columns [c0, c1). `ensureA(block)` / `ensureImages(lo, hi)` are
/// called before a prepacked A block or the prepared images [lo, hi) are read.
func runImplicitGEMM(_ pr: ImplicitGEMMProblem, c0: Int, c1: Int, ws: ImplicitWorkspace,
                     ensureA: (Int) -> Void, ensureImages: (Int, Int) -> Void) {
    if c0 >= c1 || pr.m <= 0 { return }
    let per = pr.grid.perImage
    let mPad = pr.mPadded
    let contiguousOut = pr.outCol == 1 && pr.outRow == pr.grid.gw
    var jc = c0
    while jc < c1 {
        let nc = min(ws.nc, c1 - jc)
        ensureImages(jc / per, (jc + nc - 1) / per + 1)
        ws.slabs.fill(pr.grid, j0: jc, n: nc, imgStride: pr.xImg, rowStride: pr.xRow)
        // Output offsets per column (m = 0).
        do {
            var img = jc / per
            let rem = jc - img * per
            var h = rem / pr.grid.gw
            var w = rem - h * pr.grid.gw
            for j in 0..<nc {
                ws.colOut[j] = img * pr.outImg + h * pr.outRow + w * pr.outCol
                w += 1
                if w == pr.grid.gw {
                    w = 0; h += 1
                    if h == pr.grid.gh { h = 0; img += 1 }
                }
            }
        }
        var pc = 0
        var block = 0
        while pc < pr.k {
            let kc = min(pr.kcBlock, pr.k - pc)
            packImplicitB(x: pr.x, rowOff: pr.rowOff + pc, kc: kc, nc: nc, slabs: ws.slabs, into: ws.b)
            ensureA(block)
            let aBlock = pr.a + pc * mPad
            let accumulate = pc > 0
            var ic = 0
            while ic < pr.m {
                let mc = min(ws.mc, pr.m - ic)
                var jr = 0
                while jr < nc {
                    let nr = min(gemmNR, nc - jr)
                    let bPanel = ws.b + (jr / gemmNR) * kc * gemmNR
                    let j = jc + jr
                    let direct = contiguousOut && (j / per == (j + nr - 1) / per)
                    var ir = 0
                    while ir < mc {
                        let mr = min(gemmMR, mc - ir)
                        let m0 = ic + ir
                        let aPanel = aBlock + (m0 / gemmMR) * kc * gemmMR
                        if direct {
                            runMicroKernel(kc: kc, a: aPanel, b: bPanel, c: pr.out + ws.colOut[jr] + m0 * pr.outChan,
                                           ldc: pr.outChan, beta: accumulate ? 1 : 0, mr: mr, nr: nr, tiling: ws.tiling)
                        } else {
                            runMicroKernel(kc: kc, a: aPanel, b: bPanel, c: ws.tile, ldc: gemmNR, beta: 0,
                                           mr: gemmMR, nr: gemmNR, tiling: ws.tiling)
                            scatterTile(ws.tile, out: pr.out + m0 * pr.outChan, outChan: pr.outChan,
                                        colOut: ws.colOut + jr, mr: mr, nr: nr, accumulate: accumulate)
                        }
                        ir += gemmMR
                    }
                    jr += gemmNR
                }
                ic += ws.mc
            }
            pc += kc
            block += 1
        }
        jc += nc
    }
}

/// out[r·outChan + colOut[j]] (+)= tile[r·32 + j] for r < mr, j < nr. Runs of 16 consecutive
/// output offsets starting at lane 0 or 16 move as vectors.
@inline(__always)
func scatterTile(_ tile: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, outChan: Int,
                 colOut: UnsafePointer<Int>, mr: Int, nr: Int, accumulate: Bool) {
    let half0 = nr >= 16 && colOut[15] == colOut[0] + 15
    let half1 = nr >= 32 && colOut[31] == colOut[16] + 15
    if half0 && (half1 || nr == 16) {
        // Both halves are contiguous runs (checked at the ends: offsets increase by ≥ 1 per lane).
        var ok = true
        for j in 1..<16 where colOut[j] != colOut[0] + j { ok = false }
        if half1 { for j in 17..<32 where colOut[j] != colOut[16] + j - 16 { ok = false } }
        if ok {
            let o0 = colOut[0], o1 = half1 ? colOut[16] : 0
            for r in 0..<mr {
                let t = tile + r * gemmNR
                let d = out + r * outChan
                if accumulate {
                    store16(d + o0, load16(d + o0) + load16(t))
                    if half1 { store16(d + o1, load16(d + o1) + load16(t + 16)) }
                } else {
                    store16(d + o0, load16(t))
                    if half1 { store16(d + o1, load16(t + 16)) }
                }
            }
            return
        }
    }
    for r in 0..<mr {
        let t = tile + r * gemmNR
        let d = out + r * outChan
        if accumulate {
            for j in 0..<nr { d[colOut[j]] += t[j] }
        } else {
            for j in 0..<nr { d[colOut[j]] = t[j] }
        }
    }
}

/// Prepacks A block `block` (rows 0..<m, K range [block·kcBlock, +kc)) of a row-major m×k
/// matrix into `dst` in the layout of `ImplicitGEMMProblem.a`: 12 rows × 16 columns at a time
/// are loaded as vectors, transposed in registers and stored as 16 k-steps of 12 floats.
func prepackABlock(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, kcBlock: Int, block: Int,
                   into dst: UnsafeMutablePointer<Float>) {
    let pc = block * kcBlock
    let kc = min(kcBlock, k - pc)
    let mPad = packedRows(m)
    let out = dst + pc * mPad
    let end = a + (m - 1) * lda + k   // one past the last element
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 32) { buf in
        let stage = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: Float.self)
        let tr = stage + 256
        var i0 = 0
        while i0 < m {
            let rows = min(gemmMR, m - i0)
            let panel = out + (i0 / gemmMR) * kc * gemmMR
            let src = a + i0 * lda + pc
            var p = 0
            while p < kc {
                let steps = min(16, kc - p)
                if src + (rows - 1) * lda + p + 16 <= end {
                    for r in 0..<16 { store16(stage + 16 * r, r < rows ? load16(src + r * lda + p) : SIMD16<Float>()) }
                } else {
                    for r in 0..<16 {
                        for j in 0..<16 { stage[16 * r + j] = r < rows && j < steps ? src[r * lda + p + j] : 0 }
                    }
                }
                transpose16x16(stage, 16, tr, 16)
                for j in 0..<steps {
                    let v = load16(tr + 16 * j)
                    let d = panel + (p + j) * gemmMR
                    UnsafeMutableRawPointer(d).storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(d + 8).storeBytes(of: SIMD4<Float>(v[8], v[9], v[10], v[11]),
                                                              as: SIMD4<Float>.self)
                }
                p += 16
            }
            i0 += gemmMR
        }
    }
}

// MARK: - Scratch pool

/// Process-wide cache of the convolutions' large scratch buffers. Fresh multi-megabyte
/// allocations are new mappings that page-fault on first touch on every call; reusing them keeps
/// that out of the training loop. At most `limit` bytes are kept.
enum ConvScratchPool {
    private static let cache = Mutex<[(address: Int, bytes: Int)]>([])
    private static let limit = 256 << 20

    /// A 64-byte-aligned buffer of at least `count` floats.
    static func take(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let bytes = max(count, 16) * 4
        let hit: (address: Int, bytes: Int)? = cache.withLock { list in
            var best = -1
            for i in list.indices where list[i].bytes >= bytes && list[i].bytes <= 4 * bytes + (1 << 20) {
                if best < 0 || list[i].bytes < list[best].bytes { best = i }
            }
            return best >= 0 ? list.remove(at: best) : nil
        }
        let buffer: (UnsafeMutablePointer<Float>, Int)
        if let hit, let raw = UnsafeMutableRawPointer(bitPattern: hit.address) {
            buffer = (raw.assumingMemoryBound(to: Float.self), hit.bytes)
        } else {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            buffer = (raw.bindMemory(to: Float.self, capacity: bytes / 4), bytes)
        }
        #if DEBUG
        // Debug builds (the tests) hand out NaNs, not a previous call's values, so a kernel that
        // reads scratch it did not write fails loudly instead of passing on stale results.
        buffer.0.update(repeating: .nan, count: buffer.1 / 4)
        #endif
        return buffer
    }

    /// Returns a buffer obtained from `take`.
    static func give(_ p: UnsafeMutablePointer<Float>, _ bytes: Int) {
        let evicted: [Int] = cache.withLock { list in
            list.append((Int(bitPattern: p), bytes))
            var total = list.reduce(0) { $0 + $1.bytes }
            var out: [Int] = []
            while total > limit, !list.isEmpty {
                let e = list.removeFirst()
                total -= e.bytes
                out.append(e.address)
            }
            return out
        }
        for a in evicted { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }
}

/// A pooled float buffer owned by one call (or one worker).
struct ScratchBuffer {
    let p: UnsafeMutablePointer<Float>
    private let bytes: Int
    init(_ count: Int) { (p, bytes) = ConvScratchPool.take(count) }
    func free() { ConvScratchPool.give(p, bytes) }
}
