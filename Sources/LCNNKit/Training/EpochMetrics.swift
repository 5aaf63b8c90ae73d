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

    /// Milliseconds per optimiser step, when the epoch recorded its steps.
    public var millisecondsPerStep: Double? { steps.flatMap { $0 > 0 ? 1000 * trainSeconds / Double($0) : nil } }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "learning_rate", trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy", terms, meanBeta = "mean_beta", meanGamma = "mean_gamma"
        case trainSeconds = "train_seconds", evalSeconds = "eval_seconds", samplesPerSecond = "samples_per_second", steps
    }

    /// One compact JSON line.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Reads `metrics.jsonl` (one object per line; blank lines ignored).
    public static func readLines(_ url: URL) throws -> [EpochMetrics] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(EpochMetrics.self, from: Data($0.utf8))
        }
    }
}
