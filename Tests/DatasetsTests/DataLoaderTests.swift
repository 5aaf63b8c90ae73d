import Testing
import TensorCore
@testable import Datasets

@Suite("Data loader")
struct DataLoaderTests {
    /// `count` samples of shape [1, 2, 3] whose every value is the sample's index; label = index % 3.
    static func indexed(_ count: Int) -> Dataset {
        let values = (0..<count).flatMap { i in [Float](repeating: Float(i), count: 6) }
        return Dataset(name: "indexed", images: Tensor(values, shape: [count, 1, 2, 3]),
                       labels: (0..<count).map { $0 % 3 }, classes: 3)
    }

    /// Checks that each batch's images, labels and indices agree with the dataset.
    static func checkConsistent(_ batch: DataLoader.Batch, _ d: Dataset) {
        #expect(batch.images.shape == [batch.count] + d.sampleShape)
        #expect(batch.labels == batch.indices.map { d.labels[$0] })
        let firstValues = (0..<batch.count).map { batch.images.scalars[$0 * d.sampleSize] }
        #expect(firstValues == batch.indices.map(Float.init))
    }

    @Test("batch sizes and counts with the last batch kept or dropped")
    func sizes() {
        let d = Self.indexed(10)
        let keep = DataLoader(dataset: d, batchSize: 3, shuffle: true, dropLast: false, seed: 1)
        #expect(keep.numberOfBatches == 4)
        #expect(keep.batches(epoch: 0).map(\.count) == [3, 3, 3, 1])
        let drop = DataLoader(dataset: d, batchSize: 3, shuffle: true, dropLast: true, seed: 1)
        #expect(drop.numberOfBatches == 3)
        #expect(drop.batches(epoch: 0).map(\.count) == [3, 3, 3])
        #expect(DataLoader(dataset: d, batchSize: 5, dropLast: true).numberOfBatches == 2)
        #expect(DataLoader(dataset: d, batchSize: 11, dropLast: true).numberOfBatches == 0)
        #expect(DataLoader(dataset: d, batchSize: 11, dropLast: false).batches(epoch: 0).map(\.count) == [10])
    }

    @Test("every sample exactly once per epoch, images and labels matching the indices")
    func coverage() {
        let d = Self.indexed(23)
        let loader = DataLoader(dataset: d, batchSize: 4, seed: 9)
        for epoch in 0..<3 {
            let batches = Array(loader.batches(epoch: epoch))
            #expect(batches.flatMap(\.indices).sorted() == Array(0..<23))
            #expect(batches.flatMap(\.indices) == loader.order(epoch: epoch))
            for b in batches { Self.checkConsistent(b, d) }
        }
        // dropLast leaves out exactly the tail of the epoch's order.
        let dropping = DataLoader(dataset: d, batchSize: 4, dropLast: true, seed: 9)
        #expect(dropping.batches(epoch: 1).flatMap(\.indices) == Array(dropping.order(epoch: 1).prefix(20)))
    }

    @Test("order: fixed without shuffling, a function of (seed, epoch) with it")
    func determinism() {
        let d = Self.indexed(50)
        #expect(DataLoader(dataset: d, batchSize: 7, shuffle: false).batches(epoch: 4).flatMap(\.indices) == Array(0..<50))
        let a = DataLoader(dataset: d, batchSize: 7, seed: 5)
        let b = DataLoader(dataset: d, batchSize: 7, seed: 5)
        let c = DataLoader(dataset: d, batchSize: 7, seed: 6)
        #expect(a.order(epoch: 0) == b.order(epoch: 0))
        #expect(a.order(epoch: 3) == b.order(epoch: 3))        // a resumed run sees the same epoch
        #expect(a.order(epoch: 0) != a.order(epoch: 1))        // reshuffled every epoch
        #expect(a.order(epoch: 0) != c.order(epoch: 0))        // another seed, another order
        #expect(a.order(epoch: 0) != Array(0..<50))
        #expect(a.batch(2, epoch: 3).indices == b.batches(epoch: 3)[2].indices)
    }

    @Test("subsets: loader indices and Dataset.subset")
    func subsets() {
        let d = Self.indexed(20)
        let chosen = [3, 5, 7, 11, 13, 17, 19]
        let loader = DataLoader(dataset: d, batchSize: 2, seed: 1, indices: chosen)
        #expect(loader.sampleCount == 7 && loader.numberOfBatches == 4)
        let seen = loader.batches(epoch: 0).flatMap(\.indices)
        #expect(seen.sorted() == chosen)
        for b in loader.batches(epoch: 0) { Self.checkConsistent(b, d) }

        let sub = d.subset([4, 2, 2])
        #expect(sub.count == 3 && sub.images.shape == [3, 1, 2, 3])
        #expect(sub.labels == [1, 2, 2] && sub.classes == 3)
        #expect(sub.images.scalars == [4, 2, 2].flatMap { [Float](repeating: $0, count: 6) })
        #expect(d.prefix(5).labels == [0, 1, 2, 0, 1])
        #expect(d.prefix(100).count == 20)
        // Moons ([N, 2]) batch too.
        let moons = TwoMoons.make(count: 9, noise: 0.1, seed: 1)
        let mb = DataLoader(dataset: moons, batchSize: 4).batches(epoch: 0)
        #expect(mb.map { $0.images.shape } == [[4, 2], [4, 2], [1, 2]])
        #expect(mb[0].images.scalars == moons.subset(mb[0].indices).images.scalars)
    }
}

@Suite("Augmentation")
struct AugmentationTests {
    /// One sample [2, 3, 4] with distinct positive values (so zeros can only be padding).
    static let sample: [Float] = (0..<24).map { Float($0 + 1) }

    static func value(_ c: Int, _ y: Int, _ x: Int) -> Float { sample[(c * 3 + y) * 4 + x] }

    static func apply(_ d: Augmentation.Draw) -> Tensor {
        Augmentation.apply([d], to: Tensor(sample, shape: [1, 2, 3, 4]))
    }

    @Test("flip reverses the columns of every row and channel")
    func flip() {
        let out = Self.apply(.init(flip: true))
        for c in 0..<2 { for y in 0..<3 { for x in 0..<4 { #expect(out[0, c, y, x] == Self.value(c, y, 3 - x)) } } }
        #expect(Self.apply(.init()).scalars == Self.sample)
    }

    @Test("crop shifts the image and fills the padding with zeros")
    func crop() {
        for dy in -4...4 {
            for dx in -4...4 {
                for flip in [false, true] {
                    let out = Self.apply(.init(dy: dy, dx: dx, flip: flip))
                    for c in 0..<2 { for y in 0..<3 { for x in 0..<4 {
                        let sx = (flip ? 3 - x : x) + dx, sy = y + dy
                        let expected: Float = (0..<3).contains(sy) && (0..<4).contains(sx) ? Self.value(c, sy, sx) : 0
                        #expect(out[0, c, y, x] == expected, "dy \(dy) dx \(dx) flip \(flip) at \(c),\(y),\(x)")
                    } } }
                }
            }
        }
        // A shift by one row down: the first output row is zero, the rest is the image moved.
        let down = Self.apply(.init(dy: -1))
        #expect(down[0, 0, 0, 0] == 0 && down[0, 0, 1, 0] == Self.value(0, 0, 0))
    }

    @Test("draws cover -padding...padding and both flips; the same generator gives the same batch")
    func draws() {
        var g = SeededGenerator(seed: 3)
        let draws = (0..<2000).map { _ in Augmentation.cifar.draw(using: &g) }
        #expect(Set(draws.map(\.dy)) == Set(-4...4) && Set(draws.map(\.dx)) == Set(-4...4))
        let flips = draws.filter(\.flip).count
        #expect(flips > 900 && flips < 1100)
        var none = SeededGenerator(seed: 3)
        #expect(Augmentation().draw(using: &none) == .init())

        let images = Tensor.uniform([5, 3, 8, 8], generator: &g)
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42)
        #expect(Augmentation.cifar.apply(to: images, using: &g1).scalars == Augmentation.cifar.apply(to: images, using: &g2).scalars)
    }

    @Test("loader augmentation: reproducible per (seed, epoch, batch), as documented, and different across epochs")
    func loaderAugmentation() {
        var g = SeededGenerator(seed: 1)
        let d = Dataset(name: "random", images: Tensor.uniform([10, 3, 6, 6], generator: &g),
                        labels: Array(repeating: 0, count: 10), classes: 1)
        let a = DataLoader(dataset: d, batchSize: 4, seed: 8, augmentation: .cifar)
        let b = DataLoader(dataset: d, batchSize: 4, seed: 8, augmentation: .cifar)
        for epoch in 0..<2 {
            for i in 0..<a.numberOfBatches {
                let x = a.batch(i, epoch: epoch), y = b.batches(epoch: epoch)[i]
                #expect(x.images.scalars == y.images.scalars && x.indices == y.indices)
                // The documented construction: draws from mix(seed, augment, epoch, batch).
                var gen = SeededGenerator(seed: mixSeed(8, DataLoader.Stream.augment, UInt64(epoch), UInt64(i)))
                let expected = Augmentation.cifar.apply(to: d.subset(x.indices).images, using: &gen)
                #expect(x.images.scalars == expected.scalars)
            }
        }
        let e0 = a.batches(epoch: 0).flatMap { $0.images.scalars }
        let e1 = a.batches(epoch: 1).flatMap { $0.images.scalars }
        #expect(e0 != e1)
        let plain = DataLoader(dataset: d, batchSize: 4, seed: 8)
        #expect(plain.batches(epoch: 0).map(\.indices) == a.batches(epoch: 0).map(\.indices))
    }
}
