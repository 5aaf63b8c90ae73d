import TensorCore

/// AutoAttack's standard sequence (Croce & Hein, ICML 2020, §4), each attack run only on the
/// samples every earlier one left robust, so a sample's outcome is its worst case over all:
///
/// 1. APGD-CE, N iterations, 1 restart;
/// 2. APGD-T, the targeted DLR loss towards each of the 9 most likely other classes (fewer when
///    the model has fewer; skipped below 4 classes), N iterations each;
/// 3. FAB-T (``FAB``), the targeted minimal-perturbation attack towards the same 9 classes
///    (fewer when the model has fewer), N iterations each;
/// 4. Square, a black-box attack of `squareQueries` queries.
public struct AutoAttack: Sendable {
    public var norm: PGD.Norm
    public var epsilon: Float
    public var iterations: Int
    public var targetClasses: Int
    public var squareQueries: Int
    public var inputRange: ClosedRange<Float>?

    public init(norm: PGD.Norm = .l2, epsilon: Float, iterations: Int = 100, targetClasses: Int = 9,
                squareQueries: Int = 5_000, inputRange: ClosedRange<Float>? = 0...1) {
        self.norm = norm
        self.epsilon = epsilon
        self.iterations = iterations
        self.targetClasses = targetClasses
        self.squareQueries = squareQueries
        self.inputRange = inputRange
    }

    /// Samples still robust after each attack of the sequence, in order.
    public struct Stage: Sendable, Equatable, Codable {
        public var attack: String
        public var robust: Int

        /// Two parts' stage counts summed (nil stands for no samples yet); the parts ran the
        /// same sequence.
        static func adding(_ a: [Stage]?, _ b: [Stage]?) -> [Stage]? {
            guard let a else { return b }
            guard let b else { return a }
            precondition(a.map(\.attack) == b.map(\.attack), "AutoAttack stages differ: \(a.map(\.attack)) vs \(b.map(\.attack))")
            return zip(a, b).map { Stage(attack: $0.attack, robust: $0.robust + $1.robust) }
        }
    }

    var apgd: APGD { APGD(norm: norm, epsilon: epsilon, iterations: iterations, restarts: 1, inputRange: inputRange) }

    /// The sequence on a batch; `stages` counts the robust samples after each attack.
    public func attack(_ classifier: Classifier, _ x: Tensor, labels: [Int],
                       generator: inout SeededGenerator) -> (result: APGD.Result, stages: [Stage]) {
        func runOnRobust(_ r: APGD.Result, _ body: (Tensor, [Int]) -> APGD.Result) -> (indices: [Int], result: APGD.Result?) {
            let indices = r.robust.indices.filter { r.robust[$0] }
            guard !indices.isEmpty else { return (indices, nil) }
            return (indices, body(x.samples(indices), indices.map { labels[$0] }))
        }
        var result = apgd.attack(classifier, x, labels: labels, generator: &generator)
        var stages = [Stage(attack: "apgd-ce", robust: result.robust.filter { $0 }.count)]
        let classes = withoutGrad { classifier(x.samples([0])) }.shape[1]
        if classes >= 4 {
            let targeted = runOnRobust(result) { xs, ys in
                apgd.targetedAttack(classifier, xs, labels: ys, targetClasses: targetClasses, generator: &generator)
            }
            merge(targeted, into: &result, x: x, labels: labels)
            stages.append(Stage(attack: "apgd-t", robust: result.robust.filter { $0 }.count))
        }
        if classes >= 2 {
            let fab = FAB(norm: norm, epsilon: epsilon, iterations: iterations, inputRange: inputRange)
            let found = runOnRobust(result) { xs, ys in
                fab.targetedAttack(classifier, xs, labels: ys, targetClasses: targetClasses, generator: &generator)
            }
            merge(found, into: &result, x: x, labels: labels)
            stages.append(Stage(attack: "fab-t", robust: result.robust.filter { $0 }.count))
        }
        do {
            let square = SquareAttack(norm: norm, epsilon: epsilon, queries: squareQueries, inputRange: inputRange)
            let found = runOnRobust(result) { xs, ys in square.attack(classifier, xs, labels: ys, generator: &generator) }
            merge(found, into: &result, x: x, labels: labels)
            stages.append(Stage(attack: "square", robust: result.robust.filter { $0 }.count))
        }
        return (result, stages)
    }

    /// Writes the samples a later attack broke into `result`.
    private func merge(_ later: (indices: [Int], result: APGD.Result?), into result: inout APGD.Result, x: Tensor, labels: [Int]) {
        guard let r = later.result else { return }
        result.gradientEvaluations += r.gradientEvaluations
        let broken = r.robust.indices.filter { !r.robust[$0] }
        guard !broken.isEmpty else { return }
        result.adversarial = result.adversarial.replacingSamples(at: broken.map { later.indices[$0] }, with: r.adversarial.samples(broken))
        for b in broken { result.robust[later.indices[b]] = false }
    }
}
