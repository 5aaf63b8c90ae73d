import TensorKernels

/// Iteration over the elements of a broadcast binary operation.
///
/// The output shape is walked with an odometer over all but the innermost dimension, after
/// merging adjacent dimensions that are laid out contiguously for every operand. The
/// innermost block is handed to a kernel with per-operand strides of 0 (broadcast) or 1, so
/// `[N,C,H,W] + [1,C,1,1]` becomes N·C kernel calls of H·W elements with a scalar right side.
struct BroadcastLoop {
    /// Coalesced extents; the last one is the inner block length.
    private(set) var extents: [Int]
    private(set) var stridesA: [Int]
    private(set) var stridesB: [Int]

    init(output: [Int], a: [Int], b: [Int]) {
        var ext = output
        var sa = Shape.broadcastStrides(a, to: output)
        var sb = Shape.broadcastStrides(b, to: output)
        // Drop unit dimensions, then merge mergeable neighbours.
        var e2: [Int] = [], a2: [Int] = [], b2: [Int] = []
        for i in 0..<ext.count where ext[i] != 1 {
            e2.append(ext[i]); a2.append(sa[i]); b2.append(sb[i])
        }
        if e2.isEmpty { e2 = [1]; a2 = [0]; b2 = [0] }
        ext = [e2[0]]; sa = [a2[0]]; sb = [b2[0]]
        for i in 1..<e2.count {
            let last = ext.count - 1
            if sa[last] == a2[i] * e2[i] && sb[last] == b2[i] * e2[i] {
                ext[last] *= e2[i]; sa[last] = a2[i]; sb[last] = b2[i]
            } else {
                ext.append(e2[i]); sa.append(a2[i]); sb.append(b2[i])
            }
        }
        extents = ext; stridesA = sa; stridesB = sb
    }

    /// Number of inner blocks.
    var blockCount: Int { extents.dropLast().reduce(1, *) }

    /// Calls `body(offsetA, innerStrideA, offsetB, innerStrideB, offsetOut, innerCount)` for each
    /// inner block, in output order.
    func forEachBlock(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        forEachBlock(in: 0..<blockCount, body)
    }

    /// Like ``forEachBlock(_:)``, but spreads the blocks over the kernel threads when there are
    /// many small ones (large blocks are left to the kernel's own threading). `body` must be safe
    /// to run concurrently on different blocks.
    func forEachBlockInParallel(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let blocks = blockCount, inner = extents[extents.count - 1]
        guard blocks > 1, inner < 65_536 else { return forEachBlock(body) }
        parallelFor(blocks, minimumWorkPerThread: max(1, 65_536 / max(inner, 1))) { range in
            forEachBlock(in: range, body)
        }
    }

    /// The blocks with indices in `range` (row-major over the outer extents).
    func forEachBlock(in range: Range<Int>, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let rank = extents.count
        let inner = extents[rank - 1]
        let isa = stridesA[rank - 1], isb = stridesB[rank - 1]
        if rank == 1 { if !range.isEmpty { body(0, isa, 0, isb, 0, inner) }; return }
        // Multi-index and offsets of the first block.
        var index = [Int](repeating: 0, count: rank - 1)
        var offA = 0, offB = 0
        var rest = range.lowerBound
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = rest % extents[axis]
            rest /= extents[axis]
            offA += index[axis] * stridesA[axis]; offB += index[axis] * stridesB[axis]
        }
        var offOut = range.lowerBound * inner
        for _ in range {
            body(offA, isa, offB, isb, offOut, inner)
            offOut += inner
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offA += stridesA[axis]; offB += stridesB[axis]
                if index[axis] < extents[axis] { break }
                offA -= stridesA[axis] * extents[axis]; offB -= stridesB[axis] * extents[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
