import Foundation

/// What one epoch of training measured; one JSON line of `metrics.jsonl`.
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// Zero-based epoch index.
    public var epoch: Int
    public var learningRate: Float
    /// Mean of the total objective over the epoch's batches.
    public var trainLoss: Double
    /// Accuracy on the training batches as trained (adversarial inputs for adversarial training).
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Mean of each objective term over the epoch (`cross_entropy`, `lcnn_penalty`, …).
    public var terms: [String: Double]
    /// Mean β of the learnable-β activations and mean γ of the γ-Lipschitz batch norms (nil if none).
    public var meanBeta: Double?
    public var meanGamma: Double?
    /// Wall-clock seconds of the training part of the epoch (what the training-cost ratios use).
    public var trainSeconds: Double
    /// Seconds spent evaluating on the test set.
    public var evalSeconds: Double
    public var samplesPerSecond: Double
    /// Optimiser steps of the epoch (nil in metrics written before it was recorded): with
    /// ``trainSeconds`` it gives the cost per step, which does not depend on the epoch's size.
    public var steps: Int?
    /// Processes of a data-parallel run (nil for one process) and the seconds its gradient
    /// all-reduces took in this epoch (part of ``trainSeconds``).
    public var ranks: Int? = nil
    public var allReduceSeconds: Double? = nil

    /// Milliseconds per optimiser step, when the epoch recorded its steps.
    public var millisecondsPerStep: Double? { steps.flatMap { $0 > 0 ? 1000 * trainSeconds / Double($0) : nil } }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "learning_rate", trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy", terms, meanBeta = "mean_beta", meanGamma = "mean_gamma"
        case trainSeconds = "train_seconds", evalSeconds = "eval_seconds", samplesPerSecond = "samples_per_second", steps
        case ranks, allReduceSeconds = "allreduce_seconds"
    }

    /// One compact JSON line.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Reads `metrics.jsonl` (one object per line; blank lines ignored). A line that is not an
    /// epoch record, or whose values cannot be (a negative or repeated epoch, a non-finite loss, an
    /// accuracy outside [0, 1], a negative or non-finite time or step count), is an error naming
    /// the file and line.
    public static func readLines(_ url: URL) throws -> [EpochMetrics] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.invalidFile(file: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parseLines(data, file: url.path)
    }

    /// The records of a `metrics.jsonl` held in memory; `file` names it in errors.
    public static func parseLines(_ data: Data, file: String) throws -> [EpochMetrics] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw TrainingError.invalidFile(file: file, reason: "is not UTF-8 text")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var records: [EpochMetrics] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            func fail(_ reason: String) -> TrainingError { .invalidFile(file: file, reason: "line \(index + 1): \(reason)") }
            let record: EpochMetrics
            do { record = try decoder.decode(EpochMetrics.self, from: Data(line.utf8)) } catch {
                throw fail("not an epoch record (\(Self.decodingReason(error)))")
            }
            if let problem = record.implausibility { throw fail(problem) }
            if let previous = records.last, record.epoch <= previous.epoch {
                throw fail("epoch \(record.epoch) follows epoch \(previous.epoch)")
            }
            records.append(record)
        }
        return records
    }

    /// Why this record cannot come from a training run, or nil when it can.
    var implausibility: String? {
        if epoch < 0 { return "negative epoch \(epoch)" }
        // A run stops on a non-finite loss before it records the epoch.
        for (name, value) in [("train_loss", trainLoss), ("test_loss", testLoss)] where !value.isFinite {
            return "\(name) \(value) is not finite"
        }
        for (name, value) in [("train_accuracy", trainAccuracy), ("test_accuracy", testAccuracy)] where !(0...1).contains(value) {
            return "\(name) \(value) is not in [0, 1]"
        }
        for (name, value) in [("train_seconds", trainSeconds), ("eval_seconds", evalSeconds)] where !(value.isFinite && value >= 0) {
            return "\(name) \(value) is not a finite time ≥ 0"
        }
        if let steps, steps < 0 { return "negative step count \(steps)" }
        if !learningRate.isFinite { return "learning_rate \(learningRate) is not finite" }
        return nil
    }

    /// The decoder's complaint in one line (the key or the type that did not fit).
    static func decodingReason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
