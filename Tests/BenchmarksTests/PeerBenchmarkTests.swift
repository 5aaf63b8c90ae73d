import Foundation
import Testing
@testable import Benchmarks

/// `lcnn bench peers`: the task table, the JSON schema `summarize.py` reads, `--only`, and one
/// tiny timed task (the command's option checks: LCNNCommandTests' `BenchCommandTests`).
@Suite("lcnn bench peers")
struct PeerBenchmarkTests {
    /// `torch_bench.py`'s job ids, in its order.
    static let peerTaskIDs = [
        "T1/MLP2D/standard", "T1/MLP2D/lcnn", "T1/MLP2D/gradreg", "T1/MLP2D/lcnn+gradreg",
        "T1/SmallCNN/standard", "T1/SmallCNN/lcnn", "T1/SmallCNN/gradreg", "T1/SmallCNN/lcnn+gradreg",
        "T1/ResNet18/standard", "T1/ResNet18/lcnn", "T1/ResNet18/gradreg", "T1/ResNet18/lcnn+gradreg",
        "T2/SmallCNN/standard", "T3/SmallCNN/standard",
        "T4/SmallCNN/standard", "T4/SmallCNN/lcnn", "T4/ResNet18/standard", "T4/ResNet18/lcnn",
    ]

    @Test("the task table is the peers' task list, with their names and batch sizes")
    func taskTable() {
        let tasks = PeerBenchmarks.tasks
        #expect(tasks.map(\.id) == Self.peerTaskIDs)
        for t in tasks {
            #expect(t.id == "\(t.task.prefix(2))/\(t.model)/\(t.variant)")
            #expect(["T1_train_step", "T2_hessian_power_iter", "T3_pgd_l2", "T4_inference"].contains(t.task))
        }
        let batches = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.batch) })
        #expect(batches["T1/MLP2D/gradreg"] == 256 && batches["T1/SmallCNN/lcnn"] == 128 && batches["T1/ResNet18/standard"] == 32)
        #expect(batches["T2/SmallCNN/standard"] == 32 && batches["T3/SmallCNN/standard"] == 256)
        #expect(batches["T4/SmallCNN/lcnn"] == 1024 && batches["T4/ResNet18/standard"] == 128)
    }

    @Test("--only keeps the tasks whose id contains any filter")
    func onlyFilter() {
        #expect(PeerBenchmarks.selected(only: nil).count == Self.peerTaskIDs.count)
        #expect(PeerBenchmarks.selected(only: "").count == Self.peerTaskIDs.count)
        #expect(PeerBenchmarks.selected(only: "T2").map(\.id) == ["T2/SmallCNN/standard"])
        #expect(PeerBenchmarks.selected(only: "T1/MLP2D,T2").map(\.id)
                == ["T1/MLP2D/standard", "T1/MLP2D/lcnn", "T1/MLP2D/gradreg", "T1/MLP2D/lcnn+gradreg", "T2/SmallCNN/standard"])
        #expect(PeerBenchmarks.selected(only: "T1/SmallCNN/lcnn+gradreg").map(\.id) == ["T1/SmallCNN/lcnn+gradreg"])
        #expect(PeerBenchmarks.selected(only: "T4/ResNet18").map(\.id) == ["T4/ResNet18/standard", "T4/ResNet18/lcnn"])
        #expect(PeerBenchmarks.selected(only: "nothing").isEmpty)
    }

    @Test("GradReg by default uses the peers' scaling 1e-3/B² · Σ‖∇ℓᵢ‖²")
    func gradRegScale() {
        #expect(PeerBenchmarks.GradRegScale.peer.weight(batch: 128) == 1e-3 / 128)
        #expect(PeerBenchmarks.GradRegScale.toolkit.weight(batch: 128) == 1e-3)
    }

    @Test("a record's JSON line has every field summarize.py reads and decodes")
    func jsonSchema() throws {
        let task = try #require(PeerBenchmarks.tasks.first { $0.id == "T2/SmallCNN/standard" })
        let record = PeerBenchmarks.record(for: task, statistics: BenchmarkClock.Statistics([3, 1, 2.00049, 4]), warmup: 3,
                                           threads: 2, gradRegScale: .peer, check: ["mean_curvature": 0.5])
        let line = try PeerBenchmarks.jsonLine(record)
        #expect(!line.contains("\n"))
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        let d = try #require(object as? [String: Any])
        for key in ["framework", "label", "framework_version", "task", "model", "variant", "batch", "median_ms",
                    "min_ms", "mean_ms", "max_ms", "warmup", "reps", "threads"] {
            #expect(d[key] != nil, "missing \(key)")
        }
        #expect(d["framework"] as? String == "swift" && d["label"] as? String == "swift")
        #expect(d["task"] as? String == "T2_hessian_power_iter" && d["model"] as? String == "SmallCNN")
        #expect(d["variant"] as? String == "standard" && (d["batch"] as? NSNumber)?.intValue == 32)
        #expect((d["median_ms"] as? NSNumber)?.doubleValue == 2.5)
        #expect((d["min_ms"] as? NSNumber)?.doubleValue == 1 && (d["max_ms"] as? NSNumber)?.doubleValue == 4)
        #expect((d["reps"] as? NSNumber)?.intValue == 4 && (d["threads"] as? NSNumber)?.intValue == 2)
        #expect((d["power_iters"] as? NSNumber)?.intValue == 10)
        #expect((d["check"] as? [String: Any])?["mean_curvature"] != nil)
    }

    @Test("T1/MLP2D/standard runs with 3 warm-ups and 10 reps and gives sane statistics")
    func tinyTask() throws {
        let task = try #require(PeerBenchmarks.tasks.first { $0.id == "T1/MLP2D/standard" })
        let r = PeerBenchmarks.measure(task, warmup: 3, reps: 10, threads: 2, gradRegScale: .peer)
        let median = try #require(r["median_ms"] as? Double), lo = try #require(r["min_ms"] as? Double)
        let hi = try #require(r["max_ms"] as? Double), mean = try #require(r["mean_ms"] as? Double)
        #expect(lo > 0 && lo <= median && median <= hi && lo <= mean && mean <= hi)
        #expect(r["reps"] as? Int == 10 && r["warmup"] as? Int == 3)
        let loss = try #require((r["check"] as? [String: Double])?["final_loss"])
        #expect(loss.isFinite && loss > 0)
        _ = try PeerBenchmarks.jsonLine(r)
    }

    @Test("--out appends one line per task")
    func appendsToFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("peers-\(UUID().uuidString)/r.jsonl").path
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try PeerBenchmarks.append("a\n", to: path)
        try PeerBenchmarks.append("b\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a\nb\n")
    }
}
