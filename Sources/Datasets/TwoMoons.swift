import TensorCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two-moons toy problem, built as scikit-learn's `make_moons` builds it.
///
/// With `nOut = count / 2` and `nIn = count − nOut`, and `t` spaced evenly over `[0, π]`
/// (`numpy.linspace`, both ends included):
/// - class 0, the upper moon: `(cos t, sin t)` for `nOut` values of `t`;
/// - class 1, the lower moon, flipped and shifted by `(1, 0.5)`: `(1 − cos t, 0.5 − sin t)`
///   for `nIn` values of `t`.
///
/// The samples are then shuffled, Gaussian noise of standard deviation `noise` is added to
/// each coordinate, and finally `round(labelNoise · count)` samples, chosen at random, get the
/// other label. Every draw comes from one ``SeededGenerator`` seeded with `seed`, in that
/// order, so a seed fixes the dataset.
///
/// Coordinates are kept raw, as scikit-learn returns them (x in about [−1, 2], y in about
/// [−0.5, 1] before noise), not standard-scaled: the geometry and the margin between the moons
/// stay those of the common reference plots.
public enum TwoMoons {
    /// A `[count, 2]` dataset with labels 0 and 1, named `"moons"`.
    ///
    /// - Parameters:
    ///   - count: number of samples, at least 1.
    ///   - noise: standard deviation of the Gaussian noise added to the coordinates (≥ 0).
    ///   - labelNoise: fraction of labels flipped, in [0, 1].
    ///   - seed: seeds shuffling, noise and the choice of flipped labels.
    public static func make(count: Int, noise: Float = 0.1, labelNoise: Float = 0,
                            seed: UInt64 = 0) -> Dataset {
        precondition(count >= 1, "TwoMoons: count must be at least 1, got \(count)")
        precondition(noise >= 0 && noise.isFinite, "TwoMoons: noise must be a finite value ≥ 0, got \(noise)")
        precondition(labelNoise >= 0 && labelNoise <= 1,
                     "TwoMoons: labelNoise must lie in [0, 1], got \(labelNoise)")
        var generator = SeededGenerator(seed: seed)
        let nOut = count / 2
        let nIn = count - nOut

        func linspace(_ n: Int, _ i: Int) -> Double { n == 1 ? 0 : Double.pi * Double(i) / Double(n - 1) }
        var points: [(Double, Double)] = []
        points.reserveCapacity(count)
        var labels: [Int] = []
        labels.reserveCapacity(count)
        for i in 0..<nOut {
            let t = linspace(nOut, i)
            points.append((cos(t), sin(t)))
            labels.append(0)
        }
        for i in 0..<nIn {
            let t = linspace(nIn, i)
            points.append((1 - cos(t), 1 - sin(t) - 0.5))
            labels.append(1)
        }

        let order = generator.permutation(count)
        let storage = TensorStorage(uninitializedCount: count * 2)
        var shuffledLabels = [Int](repeating: 0, count: count)
        for (row, source) in order.enumerated() {
            var (x, y) = points[source]
            if noise > 0 {
                x += Double(noise) * Double(generator.nextNormal())
                y += Double(noise) * Double(generator.nextNormal())
            }
            storage.pointer[2 * row] = Float(x)
            storage.pointer[2 * row + 1] = Float(y)
            shuffledLabels[row] = labels[source]
        }

        let flips = Int((Double(labelNoise) * Double(count)).rounded())
        if flips > 0 {
            for index in generator.permutation(count).prefix(flips) {
                shuffledLabels[index] = 1 - shuffledLabels[index]
            }
        }
        return Dataset(name: "moons", images: Tensor(shape: [count, 2], storage: storage),
                       labels: shuffledLabels, classes: 2)
    }
}
