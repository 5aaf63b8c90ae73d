import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reports training progress: a one-line bar redrawn in place (loss, accuracy, throughput,
/// ETA) when standard output is a terminal, plain lines otherwise (logs, CI).
public final class TrainingProgress {
    public let isTerminal: Bool
    private let totalEpochs: Int
    private var lastDraw = Date.distantPast

    public init(totalEpochs: Int, isTerminal: Bool? = nil) {
        self.totalEpochs = totalEpochs
        #if canImport(Glibc)
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) != 0)
        #else
        self.isTerminal = isTerminal ?? false
        #endif
    }

    /// Called after each step; redraws the bar at most 10 times a second.
    public func step(epoch: Int, step: Int, steps: Int, loss: Double, accuracy: Double, samplesPerSecond: Double, secondsLeft: Double) {
        guard isTerminal else { return }
        let now = Date()
        guard step + 1 == steps || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let width = 24
        let filled = steps > 0 ? (step + 1) * width / steps : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "epoch %d/%d %@ %d/%d  loss %.4f  acc %5.1f%%  %.0f samples/s  ETA %@",
                          epoch + 1, totalEpochs, bar, step + 1, steps, loss, 100 * accuracy, samplesPerSecond,
                          Self.clock(secondsLeft))
        FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    /// Called once per epoch with its metrics.
    public func epochEnded(_ m: EpochMetrics) {
        if isTerminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        var line = String(format: "epoch %d/%d  loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  %.1f s  %.0f samples/s",
                          m.epoch + 1, totalEpochs, m.trainLoss, 100 * m.trainAccuracy, m.testLoss, 100 * m.testAccuracy,
                          m.trainSeconds, m.samplesPerSecond)
        if let b = m.meanBeta { line += String(format: "  β %.3f", b) }
        if let g = m.meanGamma { line += String(format: "  γ %.3f", g) }
        print(line)
        fflush(nil)
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
