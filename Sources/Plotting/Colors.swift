/// An opaque 8-bit sRGB colour.
public struct RGB: Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
    }

    /// `"#rrggbb"` in lower case, as SVG expects.
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] {
            s.append(digits[Int(v >> 4)])
            s.append(digits[Int(v & 0xF)])
        }
        return s
    }

    /// Linear mix in sRGB space: `t = 0` is `self`, `t = 1` is `other` (t is clamped to 0…1).
    public func mixed(with other: RGB, _ t: Double) -> RGB {
        let t = t.isFinite ? min(max(t, 0), 1) : 0
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded())
        }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    static let white = RGB(255, 255, 255)
    static let black = RGB(0, 0, 0)
}

/// The toolkit's categorical colours (Tableau 10, which stays distinguishable under the common
/// colour-vision deficiencies) and their pastel versions for filled class regions.
public enum Palette {
    /// Ten distinct colours: blue, orange, red, teal, green, yellow, purple, pink, brown, grey.
    public static let categorical: [RGB] = [
        RGB(hex: 0x4E79A7), RGB(hex: 0xF28E2B), RGB(hex: 0xE15759), RGB(hex: 0x76B7B2),
        RGB(hex: 0x59A14F), RGB(hex: 0xEDC948), RGB(hex: 0xB07AA1), RGB(hex: 0xFF9DA7),
        RGB(hex: 0x9C755F), RGB(hex: 0xBAB0AC),
    ]

    /// `categorical[index]`, wrapping around (negative indices too).
    public static func color(_ index: Int) -> RGB {
        let n = categorical.count
        return categorical[((index % n) + n) % n]
    }

    /// The pastel version of `color(index)` (65% white), for filled class regions.
    public static func light(_ index: Int) -> RGB {
        color(index).mixed(with: .white, 0.65)
    }
}

/// A continuous colour scale for heatmaps.
public enum Colormap: Sendable {
    /// Perceptually uniform dark purple → blue → green → yellow (matplotlib's viridis).
    case viridis
    /// Diverging blue → light grey → red (Moreland's cool-warm), for signed values.
    case coolwarm

    /// The colour at `t` (clamped to 0…1; NaN maps to 0), piecewise-linear through the control points.
    public func color(_ t: Double) -> RGB {
        let stops = self.stops
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let position = t * Double(stops.count - 1)
        let i = min(Int(position), stops.count - 2)
        return RGB(hex: stops[i]).mixed(with: RGB(hex: stops[i + 1]), position - Double(i))
    }

    private var stops: [UInt32] {
        switch self {
        case .viridis:
            return [0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E,
                    0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725]
        case .coolwarm:
            return [0x3B4CC0, 0x5977E3, 0x7B9FF9, 0x9EBEFF, 0xC0D4F5,
                    0xDDDDDD, 0xF2CBB7, 0xF7AC8E, 0xEE8468, 0xD65244, 0xB40426]
        }
    }
}
