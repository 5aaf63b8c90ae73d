import Foundation
import LCNNKit
import NN
import TensorCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `mpirun -np 2 lcnn train … --distributed` against one process on the same global batches:
/// the weights agree up to the order of floating-point sums, resuming works, and a rank that
/// dies ends the job with a message and leaves the last checkpoint intact. Runs where the test
/// command found Open MPI (`scripts/test` sets LCNN_MPI=1 and builds with it).
@Suite("Data-parallel training over MPI", .enabled(if: MPIProcess.available, "needs Open MPI and an lcnn built with LCNN_MPI=1 (scripts/test does both as root)"))
struct DistributedTrainingTests {
    static func temporaryDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-mpi-\(name)-\(UUID().uuidString)")
    }

    /// Largest |a − b| / max(1, max|a|) over the model tensors of two checkpoints.
    static func relativeDifference(_ a: URL, _ b: URL) throws -> (worst: Float, keys: Int) {
        let x = try loadSafeTensors(from: a), y = try loadSafeTensors(from: b)
        #expect(Set(x.keys) == Set(y.keys))
        var worst: Float = 0
        for (key, t) in x where !key.hasPrefix("optimizer.") {
            let u = try #require(y[key]), scale = max(1, t.scalars.map(abs).max() ?? 0)
            let diffs = zip(t.scalars, u.scalars).map { abs($0 - $1) }
            // `max` drops NaNs; a NaN difference counts as an infinite one.
            worst = diffs.contains { $0.isNaN } ? .infinity : max(worst, diffs.max() ?? 0) / scale
        }
        return (worst, x.count)
    }

    /// Trains `arguments` once as one process and once as two; returns both output directories.
    static func trainBoth(_ name: String, _ arguments: [String]) throws -> (one: URL, two: URL) {
        let root = temporaryDirectory(name)
        let one = root.appendingPathComponent("one"), two = root.appendingPathComponent("two")
        let single = try MPIProcess.run(["train"] + arguments + ["--out", one.path])
        #expect(single.status == 0, "one process: \(single.output)")
        let parallel = try MPIProcess.run(["train"] + arguments + ["--out", two.path, "--distributed"], processes: 2)
        #expect(parallel.status == 0, "two processes: \(parallel.output)")
        #expect(parallel.output.contains("data-parallel over 2 processes"))
        return (one, two)
    }

    @Test("two processes give one process's weights (MLP on two moons: Standard, LCNN with γ-BN, GradReg by double backprop)",
          .timeLimit(.minutes(5)), arguments: ["standard", "lcnn", "gradreg"])
    func sameWeightsMLP(_ method: String) throws {
        let (one, two) = try Self.trainBoth("mlp-\(method)", ["--dataset", "moons", "--model", "mlp", "--method", method, "--epochs", "2",
                                                               "--moons-count", "400", "--batch-size", "32", "--seed", "4", "--no-progress"])
        defer { try? FileManager.default.removeItem(at: one.deletingLastPathComponent()) }
        let (worst, keys) = try Self.relativeDifference(one.appendingPathComponent(Trainer.lastCheckpointName),
                                                        two.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(keys > 4)
        #expect(worst < 1e-4, "largest relative weight difference \(worst)")
        let m1 = try EpochMetrics.readLines(one.appendingPathComponent(Trainer.metricsName))
        let m2 = try EpochMetrics.readLines(two.appendingPathComponent(Trainer.metricsName))
        #expect(m1.count == 2 && m2.count == 2)
        for (a, b) in zip(m1, m2) {
            #expect(abs(a.trainLoss - b.trainLoss) < 1e-4 * max(1, abs(a.trainLoss)))
            #expect(a.trainAccuracy == b.trainAccuracy && a.testAccuracy == b.testAccuracy)
            #expect(b.ranks == 2 && b.allReduceSeconds != nil)
        }
    }

    @Test("two processes give one process's weights for the LCNN SmallCNN (spectral-norm convolutions, synchronised γ-BN, dropout masks of the global batch)",
          .timeLimit(.minutes(8)))
    func sameWeightsSmallCNN() throws {
        let data = Self.temporaryDirectory("idx")
        defer { try? FileManager.default.removeItem(at: data) }
        try TinyIDX.write(to: data, train: 32, test: 16)
        let (one, two) = try Self.trainBoth("cnn", ["--dataset", "mnist", "--data", data.path, "--method", "lcnn", "--epochs", "1",
                                                    "--batch-size", "16", "--seed", "2", "--no-progress"])
        defer { try? FileManager.default.removeItem(at: one.deletingLastPathComponent()) }
        let (worst, _) = try Self.relativeDifference(one.appendingPathComponent(Trainer.lastCheckpointName),
                                                     two.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(worst < 1e-4, "largest relative weight difference \(worst)")
    }

    @Test("a data-parallel run resumed with --resume ends where one process ends", .timeLimit(.minutes(5)))
    func resume() throws {
        let common = ["--dataset", "moons", "--model", "mlp", "--method", "lcnn", "--moons-count", "400", "--batch-size", "32",
                      "--seed", "6", "--no-progress", "--schedule", "constant"]
        let root = Self.temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let one = root.appendingPathComponent("one"), two = root.appendingPathComponent("two")
        #expect(try MPIProcess.run(["train"] + common + ["--epochs", "3", "--out", one.path]).status == 0)
        #expect(try MPIProcess.run(["train"] + common + ["--epochs", "1", "--out", two.path, "--distributed"], processes: 2).status == 0)
        let resumed = try MPIProcess.run(["train"] + common + ["--epochs", "3", "--out", two.path, "--distributed", "--resume"], processes: 2)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("resuming at epoch 2"))
        let (worst, _) = try Self.relativeDifference(one.appendingPathComponent(Trainer.lastCheckpointName),
                                                     two.appendingPathComponent(Trainer.lastCheckpointName))
        #expect(worst < 1e-4, "largest relative weight difference \(worst)")
    }

    @Test("lcnn reproduce over two processes: data-parallel runs, sharded measurements and AutoAttack, one report",
          .timeLimit(.minutes(6)))
    func reproduce() throws {
        let root = Self.temporaryDirectory("reproduce")
        defer { try? FileManager.default.removeItem(at: root) }
        let common = ["reproduce", "--dataset", "moons", "--small", "--only", "standard,lcnn", "--epochs", "2", "--samples", "40",
                      "--no-calibration", "--no-figures", "--autoattack-samples", "16", "--no-progress"]
        let one = root.appendingPathComponent("one"), two = root.appendingPathComponent("two")
        let single = try MPIProcess.run(common + ["--out", one.path])
        #expect(single.status == 0, "\(single.output)")
        let parallel = try MPIProcess.run(common + ["--out", two.path, "--distributed"], processes: 2)
        #expect(parallel.status == 0, "\(parallel.output)")
        #expect(parallel.output.contains("data-parallel over 2 processes"))
        let a = try Reproduction.readEvaluations(one.appendingPathComponent(Reproduction.evaluationName))
        let b = try Reproduction.readEvaluations(two.appendingPathComponent(Reproduction.evaluationName))
        #expect(a.map(\.label) == ["standard", "lcnn"] && b.map(\.label) == a.map(\.label))
        for (x, y) in zip(a, b) {
            // Weights agree to ~1e-6, so per-sample outcomes agree up to a rare sample on a boundary.
            #expect(abs(x.testAccuracy - y.testAccuracy) <= 0.01, "\(x.label): \(x.testAccuracy) vs \(y.testAccuracy)")
            #expect(y.test?.count == 40 && y.autoAttack?.samples == 16 && y.certified?.samples == 40)
        }
        let report = try String(contentsOf: two.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("AutoAttack and certified ℓ2 accuracy"))
    }

    @Test("a rank killed mid-run stops the whole job with a message; the last checkpoint stays readable", .timeLimit(.minutes(5)))
    func rankFailure() throws {
        let dir = Self.temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = try MPIProcess.start(["train", "--dataset", "moons", "--model", "mlp", "--epochs", "400", "--moons-count", "2000",
                                        "--batch-size", "16", "--no-progress", "--out", dir.path, "--distributed"], processes: 2)
        let metrics = dir.appendingPathComponent(Trainer.metricsName), last = dir.appendingPathComponent(Trainer.lastCheckpointName)
        let deadline = Date().addingTimeInterval(120)
        while job.process.isRunning, (try? EpochMetrics.readLines(metrics).count) ?? 0 < 1, Date() < deadline { usleep(20_000) }
        let rank1 = try #require(MPIProcess.rankProcess(1, argumentContaining: dir.path), "rank 1's process was not found")
        kill(rank1, SIGKILL)
        let stopped = Date().addingTimeInterval(60)
        while job.process.isRunning, Date() < stopped { usleep(20_000) }
        if job.process.isRunning { job.process.terminate() }
        job.process.waitUntilExit()
        #expect(job.process.terminationStatus != 0)
        let output = job.output()
        #expect(output.lowercased().contains("signal") || output.lowercased().contains("exited") || output.contains("killed"),
                "mpirun's message: \(output)")
        let checkpoint = try loadSafeTensors(from: last)
        #expect(!checkpoint.isEmpty)
        #expect(try EpochMetrics.readLines(metrics).count >= 1)
    }
}

/// `lcnn` under `mpirun` (or alone) as a child process, with its combined output.
enum MPIProcess {
    static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var available: Bool {
        ProcessInfo.processInfo.environment["LCNN_MPI"] == "1" && mpirun != nil && TrainProcessTests.executable != nil
    }

    /// A started job; `output()` reads what it wrote once it has ended.
    struct Job {
        let process: Process
        let log: URL
        func output() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    }

    /// Starts `lcnn arguments…`, under `mpirun -np processes` when processes > 1.
    static func start(_ arguments: [String], processes: Int = 1) throws -> Job {
        let executable = try #require(TrainProcessTests.executable)
        let p = Process()
        if processes > 1 {
            p.executableURL = URL(fileURLWithPath: try #require(mpirun))
            p.arguments = ["-np", "\(processes)", "--oversubscribe", executable.path] + arguments
        } else {
            p.executableURL = executable
            p.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("lcnn-mpi-log-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return Job(process: p, log: log)
    }

    /// Runs to the end; the exit status and the combined output.
    static func run(_ arguments: [String], processes: Int = 1) throws -> (status: Int32, output: String) {
        let job = try start(arguments, processes: processes)
        job.process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: job.log) }
        return (job.process.terminationStatus, job.output())
    }

    /// The pid of the `lcnn` process of MPI rank `rank` whose command line contains `text`.
    static func rankProcess(_ rank: Int, argumentContaining text: String) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                  let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline")),
                  let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/environ")) else { continue }
            let arguments = String(decoding: command, as: UTF8.self).split(separator: "\0")
            let variables = String(decoding: environment, as: UTF8.self).split(separator: "\0")
            if arguments.first?.hasSuffix("lcnn") == true, arguments.contains(where: { $0.contains(text) }),
               variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") {
                return pid
            }
        }
        return nil
    }
}

/// A tiny MNIST-format dataset (IDX files, random 28×28 images, labels 0–9) for image models.
enum TinyIDX {
    static func write(to directory: URL, train: Int, test: Int) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 12)
        func bigEndian(_ values: [UInt32]) -> [UInt8] { values.flatMap { v in (0..<4).map { UInt8((v >> (24 - 8 * $0)) & 0xFF) } } }
        for (prefix, count) in [("train", train), ("t10k", test)] {
            let pixels = (0..<(count * 784)).map { _ in UInt8(generator.nextInt(below: 256)) }
            let labels = (0..<count).map { UInt8($0 % 10) }
            try Data(bigEndian([0x0803, UInt32(count), 28, 28]) + pixels)
                .write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(bigEndian([0x0801, UInt32(count)]) + labels).write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }
}
