import Testing
import TensorCore
@testable import Datasets

@Suite("Two moons")
struct TwoMoonsTests {
    @Test("shape, classes and the sizes of the two moons (even and odd counts)")
    func shapeAndLabels() {
        for count in [1, 2, 7, 200, 201] {
            let d = TwoMoons.make(count: count, noise: 0.1, seed: 3)
            #expect(d.images.shape == [count, 2])
            #expect(d.sampleShape == [2])
            #expect(d.count == count)
            #expect(d.classes == 2)
            #expect(d.name == "moons")
            #expect(d.labels.allSatisfy { $0 == 0 || $0 == 1 })
            #expect(d.classCounts == [count / 2, count - count / 2])
        }
    }

    @Test("without noise the points lie on scikit-learn's half circles")
    func exactGeometry() {
        let d = TwoMoons.make(count: 101, noise: 0, seed: 5)
        let xy = d.images.scalars
        for i in 0..<d.count {
            let x = Double(xy[2 * i]), y = Double(xy[2 * i + 1])
            if d.labels[i] == 0 {
                #expect(abs(x * x + y * y - 1) < 1e-5)
                #expect(y >= -1e-6)
            } else {
                #expect(abs((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5) - 1) < 1e-5)
                #expect(y <= 0.5 + 1e-6)
            }
        }
        // Both end points of each moon are present (linspace includes 0 and π).
        let points = (0..<d.count).map { (xy[2 * $0], xy[2 * $0 + 1]) }
        for (px, py) in [(Float(1), Float(0)), (-1, 0), (0, 0.5), (2, 0.5)] {
            #expect(points.contains { abs($0.0 - px) < 1e-6 && abs($0.1 - py) < 1e-6 })
        }
    }

    @Test("the same seed gives the same dataset, another seed another")
    func determinism() {
        let a = TwoMoons.make(count: 300, noise: 0.2, labelNoise: 0.1, seed: 11)
        let b = TwoMoons.make(count: 300, noise: 0.2, labelNoise: 0.1, seed: 11)
        let c = TwoMoons.make(count: 300, noise: 0.2, labelNoise: 0.1, seed: 12)
        #expect(a.images.scalars == b.images.scalars)
        #expect(a.labels == b.labels)
        #expect(a.images.scalars != c.images.scalars)
    }

    @Test("noise is Gaussian with the requested standard deviation")
    func noiseLevel() {
        let clean = TwoMoons.make(count: 4000, noise: 0, seed: 21)
        let noisy = TwoMoons.make(count: 4000, noise: 0.1, seed: 21)
        #expect(clean.labels == noisy.labels)        // same shuffle: noise is drawn after it
        let diffs = zip(noisy.images.scalars, clean.images.scalars).map { Double($0 - $1) }
        let mean = diffs.reduce(0, +) / Double(diffs.count)
        let std = (diffs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(diffs.count)).squareRoot()
        #expect(abs(mean) < 0.01)
        #expect(abs(std - 0.1) < 0.005)
    }

    @Test("label noise flips exactly round(fraction · n) labels and leaves the points alone")
    func labelNoiseFraction() {
        for (count, fraction) in [(1000, Float(0.2)), (333, 0.05), (50, 1.0), (50, 0)] {
            let clean = TwoMoons.make(count: count, noise: 0.1, labelNoise: 0, seed: 8)
            let flipped = TwoMoons.make(count: count, noise: 0.1, labelNoise: fraction, seed: 8)
            #expect(clean.images.scalars == flipped.images.scalars)
            let changed = zip(clean.labels, flipped.labels).filter { $0 != $1 }.count
            #expect(changed == Int((Double(fraction) * Double(count)).rounded()))
        }
    }
}
