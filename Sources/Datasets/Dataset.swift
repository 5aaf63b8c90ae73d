import TensorCore

/// Which half of a dataset to load.
public enum Split: String, Sendable, CaseIterable, Equatable {
    case train
    case test
}

/// A labelled dataset held in memory.
///
/// Images are one Float32 tensor whose first axis indexes samples: `[N, C, H, W]` with pixels
/// scaled to [0, 1] for image datasets (so an attack's ε is measured in that scale), `[N, 2]`
/// raw coordinates for two moons. `labels[i]` is the class of sample `i`, in `0..<classes`.
///
/// The tensor is never mutated by this module; ``subset(_:)`` and the ``DataLoader`` copy.
public struct Dataset: Sendable {
    /// A short name for reports and logs (`"fashion-mnist/train"`, `"cifar10/test"`, `"moons"`).
    public let name: String
    /// All samples, `[N, …sampleShape]`.
    public let images: Tensor
    /// One label per sample, each in `0..<classes`.
    public let labels: [Int]
    /// The number of classes (10 for MNIST and CIFAR-10, 100 or 20 for CIFAR-100, 2 for moons).
    public let classes: Int

    /// Wraps `images` and `labels`. Traps when the counts differ or a label is out of range:
    /// data read from files is validated (with a thrown ``DatasetError``) before it gets here.
    public init(name: String, images: Tensor, labels: [Int], classes: Int) {
        precondition(images.rank >= 1, "Dataset \(name): images need a sample axis, shape is \(images.shape)")
        precondition(images.shape[0] == labels.count,
                     "Dataset \(name): \(images.shape[0]) samples but \(labels.count) labels")
        precondition(classes > 0, "Dataset \(name): classes must be positive")
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classes },
                     "Dataset \(name): a label is outside 0..<\(classes)")
        self.name = name
        self.images = images
        self.labels = labels
        self.classes = classes
    }

    /// The number of samples.
    public var count: Int { labels.count }

    /// The shape of one sample: `[C, H, W]` for images, `[2]` for moons.
    public var sampleShape: [Int] { Array(images.shape.dropFirst()) }

    /// The number of Float values in one sample.
    public var sampleSize: Int { sampleShape.reduce(1, *) }

    /// The samples at `indices`, in that order (repeats allowed), as a new dataset with a copy
    /// of their values. Traps on an index outside `0..<count`.
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        Dataset(name: name ?? self.name, images: gather(indices), labels: indices.map { labels[$0] },
                classes: classes)
    }

    /// The first `n` samples (all of them when `n >= count`).
    public func prefix(_ n: Int) -> Dataset {
        subset(Array(0..<min(max(n, 0), count)))
    }

    /// How many samples each class has.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[label] += 1 }
        return counts
    }

    /// A new `[indices.count, …sampleShape]` tensor holding the samples at `indices`.
    func gather(_ indices: [Int]) -> Tensor {
        let size = sampleSize
        let n = count
        let storage = TensorStorage(uninitializedCount: indices.count * size)
        images.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            for (row, index) in indices.enumerated() {
                precondition(index >= 0 && index < n, "Dataset \(name): index \(index) outside 0..<\(n)")
                (storage.pointer + row * size).initialize(from: base + index * size, count: size)
            }
        }
        return Tensor(shape: [indices.count] + sampleShape, storage: storage)
    }
}

/// `Float(b) / 255` for every byte value: pixel conversion is one table lookup per byte, and
/// 255 maps to exactly 1.
let byteToUnit: [Float] = (0..<256).map { Float($0) / 255 }

/// Writes `count` bytes from `src` as floats in [0, 1] to `dst`.
@inline(__always)
func convertBytes(_ src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<Float>, count: Int) {
    byteToUnit.withUnsafeBufferPointer { table in
        let t = table.baseAddress!
        for i in 0..<count { dst[i] = t[Int(src[i])] }
    }
}
