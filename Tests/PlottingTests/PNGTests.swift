import CZlib
import Foundation
import Testing
@testable import Plotting

/// PNG output checked by two decoders that share no code with the encoder: a Python script
/// using only `zlib` and `struct`, and an in-test decoder built on zlib's `uncompress`.
@Suite("PNG output")
struct PNGTests {
    static let pythonDecoder = #"""
        import struct, sys, zlib
        data = open(sys.argv[1], 'rb').read()
        if data[:8] != b'\x89PNG\r\n\x1a\n':
            sys.exit('bad PNG signature')
        pos, idat, header = 8, b'', None
        while pos < len(data):
            length, = struct.unpack('>I', data[pos:pos + 4])
            kind = data[pos + 4:pos + 8]
            body = data[pos + 8:pos + 8 + length]
            crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
            if zlib.crc32(kind + body) & 0xffffffff != crc:
                sys.exit('CRC mismatch in chunk ' + kind.decode())
            if kind == b'IHDR':
                header = struct.unpack('>IIBBBBB', body)
            elif kind == b'IDAT':
                idat += body
            elif kind == b'IEND':
                break
            pos += 12 + length
        width, height, depth, color = header[:4]
        if depth != 8 or color not in (2, 6):
            sys.exit('unexpected depth/colour type %d/%d' % (depth, color))
        bpp = 3 if color == 2 else 4
        raw = zlib.decompress(idat)
        stride = width * bpp
        rows, prev, off = [], bytearray(stride), 0
        for y in range(height):
            kind = raw[off]
            line = bytearray(raw[off + 1:off + 1 + stride])
            off += 1 + stride
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                if kind == 1: line[i] = (line[i] + a) & 255
                elif kind == 2: line[i] = (line[i] + b) & 255
                elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif kind == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(line)
            prev = line
        print(width, height)
        for arg in sys.argv[2:]:
            x, y = map(int, arg.split(','))
            print(x, y, *rows[y][x * bpp:x * bpp + 3])
        """#

    /// The `python3` executable on PATH, if any.
    static func python3() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    @Test func pythonDecodesThePNGWithTheDrawnColours() throws {
        guard let python = PNGTests.python3() else {
            Issue.record("python3 was not found on PATH: the independent PNG decoder check needs it (CI installs python3)")
            return
        }
        let (figure, left, right) = Fixtures.twoRegions()
        let png = try figure.png()
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = dir.url.appendingPathComponent("regions.png")
        try Data(png).write(to: file)

        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", PNGTests.pythonDecoder, file.path, "0,0", "\(left.0),\(left.1)", "\(right.0),\(right.1)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python decoder failed: \(output)")
        let lines = output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        try #require(lines.count == 4, "unexpected decoder output: \(output)")
        #expect(lines[0] == ["\(figure.size.width * 2)", "\(figure.size.height * 2)"])
        #expect(lines[1] == ["0", "0", "255", "255", "255"], "background corner is white")
        #expect(lines[2] == ["\(left.0)", "\(left.1)", "220", "30", "30"], "left class region is red")
        #expect(lines[3] == ["\(right.0)", "\(right.1)", "20", "40", "200"], "right class region is blue")
    }

    @Test func zlibDecodeMatchesTheRasterExactly() throws {
        let figure = Fixtures.everything()
        let image = figure.raster(scale: 1)
        let png = try PNGEncoder.encode(image)
        let decoded = try decodePNG(png)
        #expect(decoded.width == image.width && decoded.height == image.height)
        #expect(decoded.rgba == image.pixels, "decoded pixels differ from the raster")

        // RGBA (colour type 6) when some pixel is translucent.
        var translucent = RasterImage(width: 3, height: 2, background: RGB(10, 20, 30))
        translucent.pixels[3] = 128
        let back = try decodePNG(try PNGEncoder.encode(translucent))
        #expect(back.rgba == translucent.pixels)
    }

    @Test func emptyImagesAreRejected() {
        #expect(throws: PlotError.self) { try PNGEncoder.encode(RasterImage(width: 0, height: 3, background: RGB(0, 0, 0))) }
    }
}

/// A small PNG decoder for 8-bit RGB/RGBA (all five filter types), checking every CRC.
func decodePNG(_ png: [UInt8]) throws -> (width: Int, height: Int, rgba: [UInt8]) {
    struct DecodeError: Error, CustomStringConvertible { let description: String }
    func u32(_ i: Int) -> Int { png[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
    guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw DecodeError(description: "signature") }
    var pos = 8, width = 0, height = 0, colorType = 0
    var idat: [UInt8] = []
    while pos + 12 <= png.count {
        let length = u32(pos)
        let kindAndBody = Array(png[(pos + 4)..<(pos + 8 + length)])
        let crc = crc32(0, kindAndBody, uInt(kindAndBody.count))
        guard Int(crc) == u32(pos + 8 + length) else { throw DecodeError(description: "CRC mismatch") }
        let kind = String(decoding: kindAndBody[0..<4], as: UTF8.self)
        let body = Array(kindAndBody[4...])
        if kind == "IHDR" {
            width = u32(pos + 8)
            height = u32(pos + 12)
            colorType = Int(body[9])
            guard body[8] == 8 else { throw DecodeError(description: "bit depth \(body[8])") }
        } else if kind == "IDAT" {
            idat += body
        }
        pos += 12 + length
        if kind == "IEND" { break }
    }
    let bpp = colorType == 2 ? 3 : 4
    let stride = width * bpp
    var rawLength = uLongf(height * (stride + 1))
    var raw = [UInt8](repeating: 0, count: Int(rawLength))
    guard uncompress(&raw, &rawLength, idat, uLong(idat.count)) == Z_OK, Int(rawLength) == raw.count else {
        throw DecodeError(description: "uncompress failed")
    }
    var rgba = [UInt8](repeating: 255, count: width * height * 4)
    var previous = [UInt8](repeating: 0, count: stride)
    for y in 0..<height {
        let filter = raw[y * (stride + 1)]
        var line = Array(raw[(y * (stride + 1) + 1)..<((y + 1) * (stride + 1))])
        for i in 0..<stride {
            let a = i >= bpp ? Int(line[i - bpp]) : 0, b = Int(previous[i]), c = i >= bpp ? Int(previous[i - bpp]) : 0
            let predictor: Int
            switch filter {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            case 4:
                let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
            default: throw DecodeError(description: "filter \(filter)")
            }
            line[i] = UInt8((Int(line[i]) + predictor) & 0xFF)
        }
        for x in 0..<width {
            for ch in 0..<bpp { rgba[(y * width + x) * 4 + ch] = line[x * bpp + ch] }
        }
        previous = line
    }
    return (width, height, rgba)
}
