import Dispatch
import Synchronization
import TensorCore
import TensorKernels

/// Runs the power-iteration steps of a model's spectrally normalised convolutions ahead of its
/// training forward pass, two layers at a time.
///
/// A layer's step (`v ← convᵀ(u)/‖·‖`, `u ← conv(v)/‖·‖`, σ̂ = ⟨u, conv(v)⟩; paper §3.4.1) reads
/// only W, u and v, never the activations, so every layer's step can run before the forward pass
/// reaches it. These single-image convolutions are small (0.3–1 ms each on ResNet-18) and gain
/// little from a second kernel thread — on the machine of BENCHMARKS.md's eleventh session the
/// twelve of ResNet-18's 3×3 stages took 8.2–8.4 ms on one thread and 6.0–7.0 on two — so two
/// workers, each on one kernel thread, take the layers in turn (largest first) instead. Each
/// layer keeps the σ̂ of its step (and, for small weights, M) for its next training forward,
/// which uses them instead of iterating; values are those of the layer-by-layer order (each
/// layer's step is the same computation), the kernels' single-threaded splits aside.
enum PowerIterationsAhead {
    /// Most weight elements for which a layer's σ̂ gradient M (the single-image weight gradient
    /// of v for u) is made ahead too and kept until the backward pass, which then combines it
    /// with g in one pass instead of running that convolution itself, on two threads that gain
    /// it little. Up to 2¹⁸ floats (1 MiB) keeping M is cheap; it takes ResNet-18's 32×32 and
    /// 16×16 stages (37 k and 147 k weights, 1024 and 256 pixels: the most arithmetic per kept
    /// float), not the 8×8 and 4×4 stages' 590 k and 2.4 M.
    static let keptSigmaGradientMaxElements = 1 << 18

    /// Runs `body` (a model's training forward) with the steps of `layers` done first, when there
    /// is something to overlap: training, at least two kernel threads, two layers that iterate.
    /// Layers that already hold a σ̂ (a model nested in another that ran this) are left to it; the
    /// σ̂ of those this call ran are dropped afterwards if the forward did not use them.
    static func run<R>(_ layers: [SpectralNormConv2d], _ body: () -> R) -> R {
        let settings = KernelSettings.current
        let due = layers.filter { $0.powerIterations > 0 && $0.ahead == nil }
        guard LearningPhase.isTraining, settings.threads >= 2, due.count >= 2 else { return body() }
        iterate(due.sorted { $0.weight.count > $1.weight.count }, settings: settings)
        defer { for layer in due { layer.ahead = nil } }
        return body()
    }

    /// Each layer's step on one of two workers (one kernel thread each; the next layer in order
    /// goes to whichever worker is free), timed as one span of the calling thread's profile (the
    /// kernels' own spans inside it do not count: only the outermost span does).
    private static func iterate(_ layers: [SpectralNormConv2d], settings: KernelSettings) {
        let span = KernelProfile.open("power_iteration_ahead")
        defer { span?.close() }
        let single = { var s = settings; s.threads = 1; return s }()
        let next = Atomic<Int>(0)
        let box = LayerList(layers)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            KernelSettings.with(single) {
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    guard i < box.layers.count else { return }
                    box.layers[i].iterateAhead()
                }
            }
        }
    }

    /// The layers handed to the workers: each worker takes distinct indices, so no layer is
    /// touched by two threads.
    private struct LayerList: @unchecked Sendable {
        let layers: [SpectralNormConv2d]
        init(_ layers: [SpectralNormConv2d]) { self.layers = layers }
    }
}
