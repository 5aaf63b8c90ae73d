import TensorCore

/// Mini-batches over a ``Dataset``: optional shuffling, a policy for the last, short batch,
/// a subset of samples, and optional ``Augmentation``.
///
/// Everything random is derived from `seed` without hidden state, so batches are a pure
/// function of `(seed, epoch, batch index)`:
/// - the sample order of epoch `e` is a permutation drawn from a generator seeded by
///   `mix(seed, "shuffle", e)` — a different order every epoch, and a run resumed at epoch
///   `e` sees exactly the batches an uninterrupted run sees at epoch `e`;
/// - the augmentation of batch `b` of epoch `e` draws from a generator seeded by
///   `mix(seed, "augment", e, b)`, so batches can be built in any order, or skipped.
///
/// ```swift
/// let loader = DataLoader(dataset: train, batchSize: 128, shuffle: true, seed: 7, augmentation: .cifar)
/// for batch in loader.batches(epoch: epoch) { … batch.images, batch.labels … }
/// ```
public struct DataLoader: Sendable {
    /// One mini-batch: `images` `[B, …sampleShape]` (a fresh tensor), the labels, and the
    /// indices into the dataset the samples came from.
    public struct Batch: Sendable {
        public let images: Tensor
        public let labels: [Int]
        public let indices: [Int]
        /// The number of samples in the batch.
        public var count: Int { indices.count }
    }

    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    /// Whether a last batch smaller than `batchSize` is dropped (`true`) or kept (`false`).
    public let dropLast: Bool
    public let seed: UInt64
    public let augmentation: Augmentation?
    /// The dataset indices the loader draws from, in their unshuffled order.
    public let indices: [Int]

    /// - Parameters:
    ///   - indices: a subset of the dataset to iterate over (every sample when `nil`); the
    ///     samples are not copied.
    ///   - augmentation: applied to every batch; needs `[N, C, H, W]` images.
    public init(dataset: Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false,
                seed: UInt64 = 0, augmentation: Augmentation? = nil, indices: [Int]? = nil) {
        precondition(batchSize > 0, "DataLoader: batchSize must be positive, got \(batchSize)")
        precondition(augmentation == nil || dataset.images.rank == 4,
                     "DataLoader: augmentation needs [N, C, H, W] images, \(dataset.name) has \(dataset.images.shape)")
        let indices = indices ?? Array(0..<dataset.count)
        precondition(indices.allSatisfy { $0 >= 0 && $0 < dataset.count },
                     "DataLoader: a subset index is outside 0..<\(dataset.count)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.augmentation = augmentation
        self.indices = indices
    }

    /// The number of samples iterated per epoch (before dropping a short last batch).
    public var sampleCount: Int { indices.count }

    /// Batches per epoch: `⌈n / batchSize⌉`, or `⌊n / batchSize⌋` when `dropLast`.
    public var numberOfBatches: Int {
        dropLast ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize
    }

    /// The dataset indices in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return indices }
        var generator = SeededGenerator(seed: mixSeed(seed, Stream.shuffle, UInt64(bitPattern: Int64(epoch))))
        return generator.permutation(indices.count).map { indices[$0] }
    }

    /// The batches of epoch `epoch`, built lazily when accessed.
    public func batches(epoch: Int) -> Epoch {
        Epoch(loader: self, epoch: epoch, order: order(epoch: epoch))
    }

    /// Batch `index` of epoch `epoch` alone (the same as `batches(epoch:)[index]`).
    public func batch(_ index: Int, epoch: Int) -> Batch {
        batches(epoch: epoch)[index]
    }

    /// The batches of one epoch, a random-access collection; each access builds the batch.
    public struct Epoch: RandomAccessCollection, Sendable {
        public let loader: DataLoader
        public let epoch: Int
        /// The sample order of this epoch (dataset indices).
        public let order: [Int]

        public var startIndex: Int { 0 }
        public var endIndex: Int { loader.numberOfBatches }

        public subscript(position: Int) -> Batch {
            precondition(position >= 0 && position < endIndex, "DataLoader: no batch \(position) in 0..<\(endIndex)")
            let start = position * loader.batchSize
            let chosen = Array(order[start..<Swift.min(start + loader.batchSize, order.count)])
            return loader.makeBatch(chosen, epoch: epoch, batchIndex: position)
        }
    }

    func makeBatch(_ chosen: [Int], epoch: Int, batchIndex: Int) -> Batch {
        let labels = chosen.map { dataset.labels[$0] }
        guard let augmentation else {
            return Batch(images: dataset.gather(chosen), labels: labels, indices: chosen)
        }
        var generator = SeededGenerator(seed: mixSeed(seed, Stream.augment, UInt64(bitPattern: Int64(epoch)),
                                                      UInt64(batchIndex)))
        let shape = dataset.images.shape
        let (c, h, w) = (shape[1], shape[2], shape[3])
        let size = c * h * w
        let storage = TensorStorage(uninitializedCount: chosen.count * size)
        dataset.images.withUnsafeBufferPointer { src in
            for (row, index) in chosen.enumerated() {
                let d = augmentation.draw(using: &generator)
                Augmentation.transform(d, source: src.baseAddress! + index * size,
                                       destination: storage.pointer + row * size,
                                       channels: c, height: h, width: w)
            }
        }
        return Batch(images: Tensor(shape: [chosen.count, c, h, w], storage: storage), labels: labels, indices: chosen)
    }

    enum Stream {
        static let shuffle: UInt64 = 0x5348_5546_464C_4531   // "SHUFFLE1"
        static let augment: UInt64 = 0x4155_474D_454E_5431   // "AUGMENT1"
    }
}

/// A seed derived from several values (SplitMix64 finaliser over each in turn): distinct
/// inputs give unrelated seeds.
func mixSeed(_ values: UInt64...) -> UInt64 {
    var h: UInt64 = 0x6A09_E667_F3BC_C908
    for v in values {
        h = (h ^ v) &+ 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
    }
    return h
}
