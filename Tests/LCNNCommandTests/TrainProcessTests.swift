import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `lcnn train` as a process: a run killed with SIGKILL after its second epoch and continued
/// with `--resume` ends with exactly the files of an uninterrupted run (SPEC T8).
@Suite("lcnn train process")
struct TrainProcessTests {
    /// The built `lcnn` executable: next to the test bundle (`<scratch>/debug/`).
    static let executable: URL? = {
        var candidates: [URL] = []
        let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(arg0.deletingLastPathComponent())
        let bundle = Bundle.main.bundleURL
        candidates.append(bundle)
        candidates.append(bundle.deletingLastPathComponent())
        for dir in candidates {
            // On macOS the test binary lives inside `X.xctest/Contents/MacOS`.
            var d = dir
            for _ in 0..<4 {
                let url = d.appendingPathComponent("lcnn")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: url.path) {
                    return url
                }
                d = d.deletingLastPathComponent()
            }
        }
        return nil
    }()

    static func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits for the process; kills it and fails after `timeout` seconds.
    static func wait(_ p: Process, timeout: TimeInterval, _ label: String) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning {
            if Date() > deadline {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                Issue.record("\(label) did not finish within \(Int(timeout)) s")
                return false
            }
            usleep(20_000)
        }
        return true
    }

    static func lines(_ url: URL) -> Int {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    /// Standard, and adversarial training, whose PGD examples start from random points: the
    /// random streams must resume where they stopped for the weights to agree bit for bit.
    @Test("SIGKILL at a random point after epoch 1, then --resume: last.safetensors equals the uninterrupted run's",
          .enabled(if: executable != nil, "the lcnn executable was not found next to the test bundle (build it with swift build --build-tests)"),
          .timeLimit(.minutes(5)), arguments: ["standard", "adversarial"])
    func sigkillResume(_ method: String) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-sigkill-\(method)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir1 = root.appendingPathComponent("full"), dir2 = root.appendingPathComponent("killed")
        let common = ["train", "--dataset", "moons", "--method", method, "--epochs", "6", "--moons-count", "2000",
                      "--batch-size", "16", "--seed", "3", "--no-progress"]

        let full = try Self.start(common + ["--out", dir1.path])
        guard Self.wait(full, timeout: 240, "the uninterrupted run") else { return }
        #expect(full.terminationStatus == 0)

        let killed = try Self.start(common + ["--out", dir2.path])
        let metrics2 = dir2.appendingPathComponent(Trainer.metricsName)
        let checkpoint2 = dir2.appendingPathComponent(Trainer.lastCheckpointName)
        let deadline = Date().addingTimeInterval(240)
        // Epoch 1 is over once its metrics line AND its checkpoint exist: the line is written
        // first, so under load a kill between the two left nothing to resume from.
        while killed.isRunning, Self.lines(metrics2) < 1 || !FileManager.default.fileExists(atPath: checkpoint2.path),
              Date() < deadline { usleep(5_000) }
        // A random point after the first epoch: mid-step, mid-evaluation or mid-checkpoint-write.
        usleep(UInt32.random(in: 0..<400_000))
        let interrupted = killed.isRunning
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(interrupted, "the run finished before it could be killed: make the epochs slower")
        #expect(killed.terminationReason == .uncaughtSignal)
        let linesAtKill = Self.lines(metrics2)
        #expect(linesAtKill >= 1 && linesAtKill < 6, "metrics lines when killed: \(linesAtKill)")

        let resumed = try Self.start(common + ["--out", dir2.path, "--resume"])
        guard Self.wait(resumed, timeout: 240, "the resumed run") else { return }
        #expect(resumed.terminationStatus == 0)

        let a = try loadSafeTensors(from: dir1.appendingPathComponent(Trainer.lastCheckpointName))
        let b = try loadSafeTensors(from: dir2.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(Set(a.keys) == Set(b.keys))
        let differing = a.keys.filter { key in
            guard let x = b[key] else { return true }
            return x.shape != a[key]!.shape || zip(a[key]!.scalars, x.scalars).contains { $0.bitPattern != $1.bitPattern }
        }.sorted()
        #expect(differing.isEmpty, "tensors that differ after SIGKILL + resume: \(differing)")

        let m1 = try EpochMetrics.readLines(dir1.appendingPathComponent(Trainer.metricsName))
        let m2 = try EpochMetrics.readLines(metrics2)
        #expect(m1.count == 6 && m2.count == 6)
        for (x, y) in zip(m1, m2) {
            #expect(x.epoch == y.epoch && x.trainLoss == y.trainLoss && x.testLoss == y.testLoss && x.testAccuracy == y.testAccuracy)
        }
    }

    @Test("--resume in an empty directory fails with a message and status 1",
          .enabled(if: executable != nil, "the lcnn executable was not found next to the test bundle"))
    func resumeWithoutCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = ["train", "--dataset", "moons", "--epochs", "1", "--out", dir.path, "--resume", "--no-progress"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let message = String(decoding: data, as: UTF8.self)
        #expect(message.contains("nothing to resume"), "stderr: \(message)")
    }
}
