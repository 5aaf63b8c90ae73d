// How a convolution call is spread over the kernel threads: one fork per call, the GEMM columns
// split into whole micro-panels.

/// Splits `columns` GEMM columns into `threads` ranges of whole 32-column panels.
@inline(__always)
func columnRange(_ columns: Int, _ t: Int, _ threads: Int) -> (Int, Int) {
    let panels = (columns + gemmNR - 1) / gemmNR
    let lo = min(columns, (t * panels / threads) * gemmNR)
    let hi = min(columns, ((t + 1) * panels / threads) * gemmNR)
    return (lo, hi)
}
