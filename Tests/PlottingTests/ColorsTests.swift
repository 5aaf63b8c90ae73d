import Testing
@testable import Plotting

@Suite("Colours and font")
struct ColorsTests {
    @Test func rgbHexRoundTrips() {
        #expect(RGB(hex: 0x4E79A7) == RGB(0x4E, 0x79, 0xA7))
        #expect(RGB(hex: 0x0A0B0C).hexString == "#0a0b0c")
        #expect(RGB(0, 0, 0).mixed(with: RGB(255, 255, 255), 0.5) == RGB(128, 128, 128))
    }

    @Test func paletteWrapsAndLightIsPaler() {
        #expect(Palette.categorical.count == 10)
        #expect(Set(Palette.categorical).count == 10)
        #expect(Palette.color(10) == Palette.color(0))
        #expect(Palette.color(-1) == Palette.color(9))
        let base = Palette.color(0), light = Palette.light(0)
        #expect(Int(light.r) + Int(light.g) + Int(light.b) > Int(base.r) + Int(base.g) + Int(base.b))
    }

    @Test func colormapsClampAndInterpolate() {
        #expect(Colormap.viridis.color(-1) == RGB(hex: 0x440154))
        #expect(Colormap.viridis.color(2) == RGB(hex: 0xFDE725))
        #expect(Colormap.coolwarm.color(0) == RGB(hex: 0x3B4CC0))
        #expect(Colormap.coolwarm.color(1) == RGB(hex: 0xB40426))
        #expect(Colormap.coolwarm.color(0.5) == RGB(hex: 0xDDDDDD))
    }

    @Test func nonASCIIFallsBackToReadableASCII() {
        #expect(String(decoding: BitmapFont.ascii("β γ ε ℓ ‖∇‖² — ±"), as: UTF8.self) == "b g e l |grad|^2 - +/-")
        #expect(String(decoding: BitmapFont.ascii("日"), as: UTF8.self) == "?")
    }
}
