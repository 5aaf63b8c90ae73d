import TensorCore

/// Random image augmentation for `[N, C, H, W]` batches: a random crop of the image padded with
/// `padding` zero pixels on every side, then a random horizontal flip — torchvision's
/// `RandomCrop(H, padding: p)` followed by `RandomHorizontalFlip()`, the standard CIFAR recipe
/// (``cifar``: padding 4, flip).
///
/// For each sample one ``Draw`` is taken from the generator, in this order: the vertical
/// offset `dy`, the horizontal offset `dx` (each uniform in `-padding...padding`, only when
/// `padding > 0`), then the flip (a fair coin, only when `horizontalFlip`). The output is
///
///     out[c, y, x] = in[c, y + dy, x' + dx]   with x' = flip ? W − 1 − x : x,
///
/// and 0 where that source pixel lies outside the image (the zero padding). The same
/// generator state therefore always gives the same batch.
public struct Augmentation: Sendable, Equatable, CustomStringConvertible {
    /// Zero padding on each side before cropping back to the original size (0: no crop).
    public var padding: Int
    /// Whether to flip each image left–right with probability ½.
    public var horizontalFlip: Bool

    public init(padding: Int = 0, horizontalFlip: Bool = false) {
        precondition(padding >= 0, "Augmentation: padding must be ≥ 0, got \(padding)")
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    /// Random crop with zero padding 4 and random horizontal flip.
    public static let cifar = Augmentation(padding: 4, horizontalFlip: true)

    public var description: String { "crop(padding: \(padding)) + flip(\(horizontalFlip))" }

    /// The random choices for one sample.
    public struct Draw: Sendable, Equatable {
        /// Vertical and horizontal offset of the crop, in `-padding...padding`.
        public var dy: Int
        public var dx: Int
        /// Whether the sample is flipped left–right (after cropping).
        public var flip: Bool
        public init(dy: Int = 0, dx: Int = 0, flip: Bool = false) {
            self.dy = dy
            self.dx = dx
            self.flip = flip
        }
    }

    /// The choices for one sample, drawn from `generator`.
    public func draw(using generator: inout SeededGenerator) -> Draw {
        var d = Draw()
        if padding > 0 {
            d.dy = generator.nextInt(below: 2 * padding + 1) - padding
            d.dx = generator.nextInt(below: 2 * padding + 1) - padding
        }
        if horizontalFlip { d.flip = generator.next() >> 63 == 1 }
        return d
    }

    /// A new `[N, C, H, W]` tensor: each sample of `images` transformed by a fresh draw.
    public func apply(to images: Tensor, using generator: inout SeededGenerator) -> Tensor {
        precondition(images.rank == 4, "Augmentation: images must be [N, C, H, W], got \(images.shape)")
        var draws: [Draw] = []
        draws.reserveCapacity(images.shape[0])
        for _ in 0..<images.shape[0] { draws.append(draw(using: &generator)) }
        return Augmentation.apply(draws, to: images)
    }

    /// A new `[N, C, H, W]` tensor: sample `i` of `images` transformed by `draws[i]`.
    public static func apply(_ draws: [Draw], to images: Tensor) -> Tensor {
        precondition(images.rank == 4, "Augmentation: images must be [N, C, H, W], got \(images.shape)")
        precondition(draws.count == images.shape[0], "Augmentation: \(draws.count) draws for \(images.shape[0]) samples")
        let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
        let size = c * h * w
        let storage = TensorStorage(uninitializedCount: images.count)
        images.withUnsafeBufferPointer { src in
            for (i, d) in draws.enumerated() {
                transform(d, source: src.baseAddress! + i * size, destination: storage.pointer + i * size,
                          channels: c, height: h, width: w)
            }
        }
        return Tensor(shape: images.shape, storage: storage)
    }

    /// Writes one transformed `[channels, height, width]` sample from `source` to `destination`
    /// (which must not overlap), every destination element exactly once.
    @inline(__always)
    public static func transform(_ d: Draw, source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>,
                                 channels: Int, height: Int, width: Int) {
        // Destination columns whose source column lies inside the image.
        let lo = d.flip ? max(0, d.dx) : max(0, -d.dx)
        let hi = d.flip ? min(width, width + d.dx) : min(width, width - d.dx)
        for ch in 0..<channels {
            let plane = source + ch * height * width
            for y in 0..<height {
                let out = destination + (ch * height + y) * width
                let sy = y + d.dy
                guard sy >= 0 && sy < height && lo < hi else {
                    out.update(repeating: 0, count: width)
                    continue
                }
                let row = plane + sy * width
                if lo > 0 { out.update(repeating: 0, count: lo) }
                if hi < width { (out + hi).update(repeating: 0, count: width - hi) }
                if d.flip {
                    let base = width - 1 + d.dx
                    for x in lo..<hi { out[x] = row[base - x] }
                } else {
                    (out + lo).update(from: row + lo + d.dx, count: hi - lo)
                }
            }
        }
    }
}
