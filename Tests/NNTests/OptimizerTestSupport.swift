import Testing
import TensorCore
import NN
import _TestSupport
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Reference optimisers in Double, written out from PyTorch's update equations
/// (`torch/optim/sgd.py`, `adam.py`, `adamw.py`, single-tensor path), and helpers for the
/// optimiser tests. The test problem is a separable quadratic: `g = c ⊙ p + d`.
enum OptRef {
    struct Quadratic: Sendable {
        let c: [Double]
        let d: [Double]
        func gradient(_ p: [Double]) -> [Double] { zip(zip(c, d), p).map { $0.0 * $1 + $0.1 } }
        func gradient(_ p: Tensor) -> Tensor {
            Tensor(zip(zip(c, d), p.scalars).map { Float($0.0) * $1 + Float($0.1) }, shape: p.shape)
        }
    }

    static let quadratic = Quadratic(c: [1.0, 0.5, 2.0, -0.3, 0.8, 1.5], d: [0.2, -0.7, 0.05, 0.4, -1.1, 0.0])
    static let start: [Float] = [0.5, -1.25, 2.0, 0.75, -0.3, 1.1]

    struct SGDConfig: Sendable, CustomTestStringConvertible {
        var lr = 0.1, momentum = 0.0, dampening = 0.0, nesterov = false, weightDecay = 0.0
        var testDescription: String { "lr=\(lr) μ=\(momentum) damp=\(dampening) nesterov=\(nesterov) wd=\(weightDecay)" }
    }

    struct AdamConfig: Sendable, CustomTestStringConvertible {
        var lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.0, amsgrad = false, decoupled = false
        var testDescription: String {
            "\(decoupled ? "AdamW" : "Adam") lr=\(lr) β=(\(beta1),\(beta2)) wd=\(weightDecay) amsgrad=\(amsgrad)"
        }
    }

    /// Parameter values after each of `steps` SGD steps.
    static func sgd(_ start: [Double], _ q: Quadratic, _ cfg: SGDConfig, steps: Int) -> [[Double]] {
        var p = start
        var buf: [Double]? = nil
        var out: [[Double]] = []
        for _ in 0..<steps {
            var d = q.gradient(p)
            if cfg.weightDecay != 0 { d = zip(d, p).map { $0 + cfg.weightDecay * $1 } }
            if cfg.momentum != 0 {
                if let b = buf {
                    buf = zip(b, d).map { cfg.momentum * $0 + (1 - cfg.dampening) * $1 }
                } else {
                    buf = d
                }
                d = cfg.nesterov ? zip(d, buf!).map { $0 + cfg.momentum * $1 } : buf!
            }
            p = zip(p, d).map { $0 - cfg.lr * $1 }
            out.append(p)
        }
        return out
    }

    /// Parameter values after each of `steps` Adam (or AdamW) steps.
    static func adam(_ start: [Double], _ q: Quadratic, _ cfg: AdamConfig, steps: Int) -> [[Double]] {
        var p = start
        let n = p.count
        var m = [Double](repeating: 0, count: n), v = m, vmax = m
        var out: [[Double]] = []
        for t in 1...steps {
            var g = q.gradient(p)
            if cfg.decoupled {
                p = p.map { $0 * (1 - cfg.lr * cfg.weightDecay) }
            } else if cfg.weightDecay != 0 {
                g = zip(g, p).map { $0 + cfg.weightDecay * $1 }
            }
            for j in 0..<n {
                m[j] = cfg.beta1 * m[j] + (1 - cfg.beta1) * g[j]
                v[j] = cfg.beta2 * v[j] + (1 - cfg.beta2) * g[j] * g[j]
                vmax[j] = max(vmax[j], v[j])
            }
            let bc1 = 1 - pow(cfg.beta1, Double(t)), bc2 = 1 - pow(cfg.beta2, Double(t))
            for j in 0..<n {
                let denom = (cfg.amsgrad ? vmax[j] : v[j]).squareRoot() / bc2.squareRoot() + cfg.eps
                p[j] -= cfg.lr / bc1 * m[j] / denom
            }
            out.append(p)
        }
        return out
    }

    /// `|actual − expected| ≤ atol + rtol·|expected|` element-wise.
    static func expectClose(_ actual: [Float], _ expected: [Double], rtol: Double = 2e-5, atol: Double = 2e-6,
                            _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        #expect(worstToleranceViolation(actual, expected, rtol: rtol, atol: atol) == nil,
                "\(label): \(actual) vs \(expected)", sourceLocation: sourceLocation)
    }
}

/// A layer that only owns the given tensors, to build parameter lists through `Layer`.
final class OptParamBag: Layer {
    let items: [(name: String, tensor: Tensor, noWeightDecay: Bool)]
    init(_ items: [(name: String, tensor: Tensor, noWeightDecay: Bool)]) { self.items = items }
    func callAsFunction(_ x: Tensor) -> Tensor { x }
    func visit(_ v: inout TensorVisitor) {
        for item in items { v.parameter(item.name, item.tensor, noWeightDecay: item.noWeightDecay) }
    }
}
