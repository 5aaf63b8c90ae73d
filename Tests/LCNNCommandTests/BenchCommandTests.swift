import ArgumentParser
import Testing
@testable import lcnn

/// `lcnn bench peers`' options: `--only` must match a task, and the peers' minimum warm-ups and
/// repetitions hold (the suite itself: BenchmarksTests' `PeerBenchmarkTests`); `lcnn bench train`'s
/// path switches parse.
@Suite("lcnn bench options")
struct BenchCommandTests {
    @Test("--only, --warmup and --reps are validated; the defaults are the peers'")
    func peersOptions() throws {
        #expect(throws: (any Error).self) { try BenchCommand.Peers.parse(["--only", "nothing"]) }
        #expect(throws: (any Error).self) { try BenchCommand.Peers.parse(["--reps", "5"]) }
        #expect(throws: (any Error).self) { try BenchCommand.Peers.parse(["--warmup", "2"]) }
        let c = try BenchCommand.Peers.parse(["--only", "T2", "--warmup", "4", "--reps", "12", "--out", "x.jsonl"])
        #expect(c.only == "T2" && c.warmup == 4 && c.reps == 12 && c.out == "x.jsonl" && c.gradregScale == "peer")
    }

    @Test("bench train's path switches: --direct-conv, --small-winograd-tiles and --unfused-batch-norm, all off by default")
    func trainSwitches() throws {
        let plain = try BenchCommand.Train.parse([])
        #expect(!plain.directConv && !plain.smallWinogradTiles && !plain.unfusedBatchNorm)
        let all = try BenchCommand.Train.parse(["--direct-conv", "--small-winograd-tiles", "--unfused-batch-norm"])
        #expect(all.directConv && all.smallWinogradTiles && all.unfusedBatchNorm)
    }
}
