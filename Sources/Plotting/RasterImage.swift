/// An 8-bit RGBA image, row-major, top row first (what `Figure.raster` paints and `PNGEncoder` encodes).
public struct RasterImage: Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 4` bytes: r, g, b, a per pixel.
    public var pixels: [UInt8]

    /// An opaque image filled with `background` (sizes below 0 count as 0).
    public init(width: Int, height: Int, background: RGB) {
        self.width = max(width, 0)
        self.height = max(height, 0)
        let count = self.width * self.height * 4
        if background == RGB(255, 255, 255) {
            pixels = [UInt8](repeating: 255, count: count)
        } else {
            pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var i = 0
                while i < count {
                    buffer[i] = background.r
                    buffer[i + 1] = background.g
                    buffer[i + 2] = background.b
                    buffer[i + 3] = 255
                    i += 4
                }
                initialized = count
            }
        }
    }

    /// The colour at (x, y) (alpha ignored); coordinates are clamped into the image.
    public func pixel(x: Int, y: Int) -> RGB {
        guard width > 0, height > 0 else { return RGB(0, 0, 0) }
        let i = (min(max(y, 0), height - 1) * width + min(max(x, 0), width - 1)) * 4
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
