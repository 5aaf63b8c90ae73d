import Foundation

/// Which register tile the GEMM micro-kernel uses on this CPU.
///
/// The packed layouts (12-row A panels, 32-column B panels, `GEMMPacking.swift`) are the same
/// for both; only the register blocking of one 12×32 tile differs:
/// - `wide`: the whole 12×32 tile at once in 24 SIMD16 accumulators. That needs 32 vector
///   registers of 512 bits (AVX-512); with fewer, the accumulators spill to the stack on every
///   k step and the kernel runs at ~40 % of an AVX2 BLAS.
/// - `narrow`: the tile as 6×16 sub-tiles, each 6 SIMD16 accumulators (12 ymm registers on
///   AVX2, 24 q registers on NEON) plus one B row and one broadcast: no spills with 16
///   registers of 256 bits or 32 of 128 bits.
/// Each element of C is the same ordered sum of fused multiply-adds under both, so the
/// results agree bit for bit.
public enum GEMMTiling: String, Sendable, CaseIterable {
    case wide
    case narrow

    /// `LCNN_GEMM_TILE=wide|narrow` overrides; otherwise `wide` exactly when the CPU has AVX-512F.
    /// The kernels use `KernelSettings.current.tiling` (this by default; tests and benchmarks may
    /// switch it for a scope, both tilings are correct).
    public static let detected: GEMMTiling = {
        if let forced = ProcessInfo.processInfo.environment["LCNN_GEMM_TILE"],
           let tiling = GEMMTiling(rawValue: forced.lowercased()) {
            return tiling
        }
        return cpuHasAVX512F() ? .wide : .narrow
    }()
}

/// Whether the CPU executing this process reports the AVX-512 foundation instructions.
func cpuHasAVX512F() -> Bool {
    #if arch(x86_64) && os(Linux)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    return flags.split(separator: " ").contains("avx512f")
    #elseif arch(x86_64) && canImport(Darwin)
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    return sysctlbyname("hw.optional.avx512f", &value, &size, nil, 0) == 0 && value != 0
    #else
    return false
    #endif
}
