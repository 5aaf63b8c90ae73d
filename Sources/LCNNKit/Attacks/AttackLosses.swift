import TensorCore

/// The per-sample losses the AutoAttack attacks maximise (APGD) or minimise (Square), as
/// functions of a batch of logits `[B, K]`.
///
/// Croce & Hein (ICML 2020), "Reliable evaluation of adversarial robustness with an ensemble of
/// diverse parameter-free attacks", §3 (DLR); Andriushchenko et al. (ECCV 2020), §3 (margin).
public enum AttackLoss: Sendable, Equatable {
    /// Cross-entropy −log softmax(z)_y.
    case crossEntropy
    /// Targeted difference of logits ratio:
    ///   −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 10⁻¹²),
    /// π the classes sorted by decreasing logit, t the target; shift- and scale-invariant in z,
    /// so it is not fooled by a model that merely rescales its logits. Needs ≥ 4 classes.
    case targetedDLR(targets: [Int])
    /// Untargeted DLR: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 10⁻¹²). Needs ≥ 3 classes.
    case dlr

    /// The loss of each sample (`[B]`), differentiable in `logits`.
    public func perSample(_ logits: Tensor, labels: [Int]) -> Tensor {
        switch self {
        case .crossEntropy:
            return TensorCore.crossEntropy(logits: logits, labels: labels, reduction: .none)
        case .targetedDLR(let targets):
            let order = AttackLoss.descendingOrder(logits)
            let zy = AttackLoss.pick(logits, labels), zt = AttackLoss.pick(logits, targets)
            let z1 = AttackLoss.pick(logits, order.map { $0[0] })
            let z3 = AttackLoss.pick(logits, order.map { $0[2] }), z4 = AttackLoss.pick(logits, order.map { $0[3] })
            return -(zy - zt) / (z1 - (z3 + z4) * 0.5 + 1e-12)
        case .dlr:
            let order = AttackLoss.descendingOrder(logits)
            let zy = AttackLoss.pick(logits, labels)
            // The largest logit other than y: π1 unless π1 is y, then π2.
            let other = zip(order, labels).map { $0[0] == $1 ? $0[1] : $0[0] }
            let z1 = AttackLoss.pick(logits, order.map { $0[0] }), z3 = AttackLoss.pick(logits, order.map { $0[2] })
            return -(zy - AttackLoss.pick(logits, other)) / (z1 - z3 + 1e-12)
        }
    }

    /// The margin z_y − max_{i≠y} z_i of each sample (negative exactly when misclassified).
    public static func margins(_ logits: Tensor, labels: [Int]) -> [Float] {
        let k = logits.shape[1]
        let z = logits.scalars
        return labels.enumerated().map { i, y in
            var other = -Float.infinity
            for j in 0..<k where j != y { other = Swift.max(other, z[i * k + j]) }
            return z[i * k + y] - other
        }
    }

    /// The classes of each row sorted by decreasing logit (ties by index).
    static func descendingOrder(_ logits: Tensor) -> [[Int]] {
        let k = logits.shape[1]
        let z = logits.scalars
        return (0..<logits.shape[0]).map { i in (0..<k).sorted { z[i * k + $0] > z[i * k + $1] || (z[i * k + $0] == z[i * k + $1] && $0 < $1) } }
    }

    /// `logits[i, classes[i]]` for each row, as a `[B]` tensor on the tape.
    static func pick(_ logits: Tensor, _ classes: [Int]) -> Tensor {
        let k = logits.shape[1]
        return logits.gathered(flatIndices: classes.enumerated().map { Int32($0 * k + $1) }, shape: [classes.count])
    }
}

/// Each sample's loss under `loss` at `x` and the gradient of their sum with respect to `x`
/// (each sample's own gradient: in evaluation mode samples do not interact), with the logits.
public func lossAndInputGradient(of classifier: Classifier, at x: Tensor, labels: [Int],
                                 loss: AttackLoss) -> (logits: Tensor, losses: [Float], gradient: Tensor) {
    let input = x.detached().requiringGrad()
    var logits = Tensor.zeros([0])
    let perSample = withGrad { () -> Tensor in
        logits = classifier(input)
        return loss.perSample(logits, labels: labels)
    }
    let total = withGrad { perSample.sum() }
    let gradient = total.requiresGrad ? gradients(of: total, wrt: [input])[0] : Tensor.zeros(x.shape)
    return (logits.detached(), perSample.scalars, gradient)
}
