#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Natural logarithm of a Float (libm), for scalar bookkeeping outside tensors.
@inline(__always) func scalarLog(_ x: Float) -> Float { logf(x) }
/// eˣ for a Float (libm).
@inline(__always) func scalarExp(_ x: Float) -> Float { expf(x) }
/// Natural logarithm of a Double (libm).
@inline(__always) func scalarLog(_ x: Double) -> Double { log(x) }
