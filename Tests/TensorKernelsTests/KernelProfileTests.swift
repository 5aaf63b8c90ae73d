import Testing
@testable import TensorKernels

/// `KernelProfile`: only the outermost kernel of a call counts, FLOPs are the direct algorithm's,
/// and nothing is recorded outside `recording`.
@Suite("Kernel profile")
struct KernelProfileTests {
    static let geometry = Conv2dGeometry(batch: 2, inChannels: 3, inHeight: 8, inWidth: 8, outChannels: 4, kernelHeight: 3,
                                         kernelWidth: 3, strideHeight: 1, strideWidth: 1, paddingHeight: 1, paddingWidth: 1)

    static func convolve() {
        let g = geometry
        let x = [Float](repeating: 0.5, count: g.batch * g.inChannels * g.inHeight * g.inWidth)
        let w = [Float](repeating: 0.25, count: g.outChannels * g.inChannels * 9)
        var y = [Float](repeating: 0, count: g.batch * g.outChannels * g.outHeight * g.outWidth)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in conv2dForward(g, input: xp.baseAddress!, weight: wp.baseAddress!, output: yp.baseAddress!) }
            }
        }
    }

    @Test("a kernel called inside another is not counted again: a one-matrix batched GEMM is one sgemm span")
    func outermostOnly() {
        let a = [Float](repeating: 1, count: 4 * 3), b = [Float](repeating: 1, count: 3 * 5)
        var c = [Float](repeating: 0, count: 4 * 5)
        let profile = KernelProfile()
        profile.recording {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        // batch 1 runs through `sgemm`, itself a profiled kernel.
                        sgemmBatched(batch: 1, transposeA: false, transposeB: false, m: 4, n: 5, k: 3, alpha: 1,
                                     a: ap.baseAddress!, lda: 3, strideA: 0, b: bp.baseAddress!, ldb: 5, strideB: 0,
                                     beta: 0, c: cp.baseAddress!, ldc: 5, strideC: 0)
                    }
                }
            }
        }
        let gemmFlops: Double = 2 * 4 * 5 * 3
        #expect(profile.entries["sgemm"] == KernelProfile.Entry(calls: 1, seconds: profile.entries["sgemm"]?.seconds ?? 0, flops: gemmFlops))
        #expect(c.allSatisfy { $0 == 3 })
    }

    @Test("a convolution is one span with the direct FLOPs")
    func convolutionFlops() {
        let profile = KernelProfile()
        profile.recording { Self.convolve(); Self.convolve() }
        let entries = profile.entries
        #expect(Array(entries.keys) == ["conv2d_forward"])
        let conv = entries["conv2d_forward"]!
        #expect(conv.calls == 2 && conv.seconds > 0)
        let perCall: Double = 2 * 2 * 4 * 64 * 27   // 2·N·O·OH·OW·C·KH·KW
        #expect(conv.flops == 2 * perCall)
    }

    @Test("GEMM FLOPs are 2·m·n·k, elementwise kernels are named by their operation, and nothing is recorded outside recording")
    func namesAndFlops() {
        let a = [Float](repeating: 1, count: 6 * 5), b = [Float](repeating: 1, count: 5 * 7)
        var c = [Float](repeating: 0, count: 6 * 7)
        func multiply() {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        sgemm(transposeA: false, transposeB: false, m: 6, n: 7, k: 5, alpha: 1, a: ap.baseAddress!, lda: 5,
                              b: bp.baseAddress!, ldb: 7, beta: 0, c: cp.baseAddress!, ldc: 7)
                        applyUnary(.exp, cp.baseAddress!, cp.baseAddress!, count: 42)
                    }
                }
            }
        }
        multiply()
        Self.convolve()
        let profile = KernelProfile()
        profile.recording { multiply() }
        let entries = profile.entries
        #expect(Set(entries.keys) == ["sgemm", "elementwise_exp"])
        let gemmFlops: Double = 2 * 6 * 7 * 5
        #expect(entries["sgemm"]?.flops == gemmFlops)
        #expect(entries["elementwise_exp"]?.flops == 0)
    }
}
