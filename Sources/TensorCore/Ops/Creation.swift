import TensorKernels

extension Tensor {
    /// A tensor of the given shape with every element equal to `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = out.storage.pointer
        parallelFor(out.count, minimumWorkPerThread: 262_144) { range in
            (p + range.lowerBound).initialize(repeating: value, count: range.count)
        }
        return out
    }
    /// Zeros of the given shape.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    /// Ones of the given shape.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// `[start, start+step, …]` up to but excluding `end` (1-D).
    public static func arange(_ start: Float, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange: step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor((0..<n).map { start + Float($0) * step }, shape: [n])
    }

    /// `[0, 1, …, n-1]` (1-D).
    public static func arange(_ n: Int) -> Tensor { arange(0, Float(n)) }

    /// Samples from N(mean, std²), drawn from `generator`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: inout SeededGenerator) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = out.storage.pointer
        for i in 0..<out.count { p[i] = mean + std * generator.nextNormal() }
        return out
    }

    /// Samples from U[low, high), drawn from `generator`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: inout SeededGenerator) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let p = out.storage.pointer
        let width = high - low
        for i in 0..<out.count { p[i] = low + width * generator.nextUniform() }
        return out
    }

    /// Zeros with this tensor's shape.
    public func zerosLike() -> Tensor { .zeros(shape) }
    /// Ones with this tensor's shape.
    public func onesLike() -> Tensor { .ones(shape) }
}
