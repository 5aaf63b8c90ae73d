import ArgumentParser
import Foundation
import Testing
@testable import lcnn

/// `lcnn moons`, `lcnn plot …` and `lcnn demo` (SPEC §9): options and short end-to-end runs.
@Suite("figure commands", .serialized)
struct FigureCommandTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-cmd-\(UUID().uuidString)").path
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test("moons options describe the experiment; bad values are refused")
    func moonsOptions() throws {
        let e = try MoonsOptions.parse(["--epochs", "5", "--count", "40", "--noise", "0.2", "--label-noise", "0.1", "--seed", "3"]).experiment()
        #expect(e.epochs == 5 && e.count == 40 && e.noise == 0.2 && e.labelNoises == [0, 0.1] && e.seed == 3)
        #expect(try MoonsOptions.parse(["--label-noise", "0"]).experiment().labelNoises == [0])
        #expect(throws: (any Error).self) { try MoonsOptions.parse(["--label-noise", "0.7"]).experiment() }
        #expect(throws: (any Error).self) { try MoonsOptions.parse(["--epochs", "0"]).experiment() }
    }

    @Test("lcnn demo trains, measures and draws Figure 1 (short run)")
    func demo() throws {
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = try DemoCommand.parse(["--epochs", "10", "--count", "40", "--resolution", "24", "--samples", "10", "--out", out])
        try command.run()
        for file in ["moons.svg", "moons.png", "activations.svg", "activations.png", "tables.md",
                     "standard/last.safetensors", "lcnn-label-noise/last.safetensors"] {
            #expect(Self.exists(out + "/" + file), "\(file) missing")
        }
        let tables = try String(contentsOfFile: out + "/tables.md", encoding: .utf8)
        #expect(tables.contains("| standard-label-noise |") && tables.contains("| pgd-l2 |"))
    }

    @Test("lcnn plot draws from checkpoints; a missing checkpoint is a clear error")
    func plotCommands() throws {
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var moons = try MoonsCommand.parse(["--epochs", "20", "--count", "60", "--label-noise", "0", "--resolution", "24", "--out", out])
        try moons.run()
        let checkpoints = ["--checkpoint", out + "/standard/last.safetensors", "--checkpoint", out + "/lcnn/last.safetensors"]
        var activations = try PlotCommand.Activations.parse(["--betas", "1,10", "--out", out])
        try activations.run()
        var robustness = try PlotCommand.Robustness.parse(checkpoints + ["--samples", "10", "--levels", "3", "--out", out])
        try robustness.run()
        var boundary = try PlotCommand.Boundary.parse(checkpoints + ["--resolution", "16", "--out", out])
        try boundary.run()
        var regions = try PlotCommand.Regions.parse(checkpoints + ["--resolution", "16", "--radius", "1", "--out", out])
        try regions.run()
        var path = try PlotCommand.Path.parse(checkpoints + ["--out", out])
        try path.run()
        for name in ["moons", "activations", "gradient-robustness", "boundary-plane", "regions", "class-path"] {
            #expect(Self.exists("\(out)/\(name).svg") && Self.exists("\(out)/\(name).png"), "\(name) missing")
        }
        var missing = try PlotCommand.Boundary.parse(["--checkpoint", out + "/nope.safetensors", "--out", out])
        #expect(throws: (any Error).self) { try missing.run() }
        var coarse = try PlotCommand.Boundary.parse(checkpoints + ["--resolution", "2", "--out", out])
        #expect(throws: ValidationError.self) { try coarse.run() }
    }
}
