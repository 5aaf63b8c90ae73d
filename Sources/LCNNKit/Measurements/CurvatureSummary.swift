import Datasets
import NN
import TensorCore

/// SPEC G1–G5 over an evaluated set: mean ± std (population) of each per-sample value, the
/// number of power iterations that converged, and the Figure-2 curve. Codable for JSON output.
public struct CurvatureSummary: Codable, Sendable, Equatable {
    /// Samples evaluated.
    public var count: Int
    /// G1 `‖∇ₓℓ‖₂`.
    public var gradientNorm: MeanStd
    /// G2 `‖∇²ₓℓ‖₂` (power iteration).
    public var spectralNorm: MeanStd
    /// G3 `C(x) = ‖∇²ₓℓ‖₂/(‖∇ₓℓ‖₂ + ε)`.
    public var curvature: MeanStd
    /// G4 `‖∇²ₓℓ‖_F` (Hutchinson), when measured.
    public var frobeniusNorm: MeanStd?
    /// G5 per noise level, when measured.
    public var robustness: [GradientRobustness.Level]?
    /// Samples whose power iteration met the tolerance.
    public var convergedCount: Int
    /// Mean cross-entropy of the evaluated samples.
    public var meanLoss: Double
    /// The settings used.
    public var measurement: CurvatureMeasurement
    /// G1–G3 of every evaluated sample, in dataset order (nil in summaries written before they
    /// were kept): what bootstrap intervals and paired comparisons of two models resample.
    public var perSample: PerSampleCurvature?

    /// G1, G2 and G3 of each sample.
    public struct PerSampleCurvature: Codable, Sendable, Equatable {
        public var gradientNorm: [Float]
        public var spectralNorm: [Float]
        public var curvature: [Float]
    }

    /// The per-sample values of measured batches that a summary is built from, in dataset
    /// order. Codable, so that parts measured by different processes can be gathered; the
    /// parts of consecutive batch ranges, ``concatenated(_:)`` in order, equal the values of
    /// the whole range.
    public struct Values: Codable, Sendable, Equatable {
        /// G1, G2, G3.
        public var gradientNorm: [Float] = [], spectralNorm: [Float] = [], curvature: [Float] = []
        /// G4, when measured.
        public var frobeniusNorm: [Float]?
        /// G5 per noise level: each batch's `draws × batch` ratios, batch after batch.
        public var robustnessRatios: [[Float]]?
        public var convergedCount = 0
        /// `Σᵢ ℓ(xᵢ)` of each batch, in order.
        public var batchLosses: [Float] = []

        public init(batches: [CurvatureMeasurement.Batch], measurement: CurvatureMeasurement) {
            gradientNorm = batches.flatMap(\.gradientNorm)
            spectralNorm = batches.flatMap(\.spectralNorm)
            curvature = batches.flatMap(\.curvature)
            if measurement.hutchinson != nil { frobeniusNorm = batches.flatMap { $0.frobeniusNorm ?? [] } }
            if let r = measurement.robustness {
                robustnessRatios = (0..<r.levels).map { level in batches.flatMap { $0.robustnessRatios?[level] ?? [] } }
            }
            convergedCount = batches.reduce(0) { $0 + $1.power.convergedCount }
            batchLosses = batches.map(\.summedLoss)
        }

        /// The values of consecutive parts, in order.
        public static func concatenated(_ parts: [Values]) -> Values {
            var all = Values(batches: [], measurement: CurvatureMeasurement())
            for p in parts {
                all.gradientNorm += p.gradientNorm
                all.spectralNorm += p.spectralNorm
                all.curvature += p.curvature
                if let f = p.frobeniusNorm { all.frobeniusNorm = (all.frobeniusNorm ?? []) + f }
                if let r = p.robustnessRatios {
                    all.robustnessRatios = zip(all.robustnessRatios ?? r.map { _ in [] }, r).map { $0 + $1 }
                }
                all.convergedCount += p.convergedCount
                all.batchLosses += p.batchLosses
            }
            return all
        }
    }

    /// Summarises per-sample values collected over batches.
    public init(batches: [CurvatureMeasurement.Batch], measurement: CurvatureMeasurement) {
        self.init(values: Values(batches: batches, measurement: measurement), measurement: measurement)
    }

    /// Summarises measured per-sample values; `meanLoss = (Σ_b Σᵢ∈b ℓ(xᵢ)) / count`, summed batch by batch.
    public init(values v: Values, measurement: CurvatureMeasurement) {
        count = v.gradientNorm.count
        gradientNorm = MeanStd(v.gradientNorm)
        spectralNorm = MeanStd(v.spectralNorm)
        curvature = MeanStd(v.curvature)
        convergedCount = v.convergedCount
        meanLoss = count > 0 ? v.batchLosses.reduce(0) { $0 + Double($1) } / Double(count) : 0
        self.measurement = measurement
        perSample = PerSampleCurvature(gradientNorm: v.gradientNorm, spectralNorm: v.spectralNorm, curvature: v.curvature)
        frobeniusNorm = measurement.hutchinson == nil ? nil : MeanStd(v.frobeniusNorm ?? [])
        if let r = measurement.robustness {
            let meanC = curvature.mean
            robustness = r.noiseNorms.enumerated().map { level, norm in
                GradientRobustness.Level(noiseNorm: Double(norm), ratio: MeanStd(v.robustnessRatios?[level] ?? []),
                                         theory: Double(norm) * meanC)
            }
        } else {
            robustness = nil
        }
    }

    /// Measures the first `count` samples of `dataset` (all when nil) in batches of `batchSize`,
    /// with the model in evaluation mode. Batch b uses seeds offset by `firstBatch + b`, so random
    /// starts and noise directions differ between batches yet the run is reproducible, and a
    /// part of a set starting at batch `firstBatch` is measured as in the whole set.
    public static func measure(model: any Layer, dataset: Dataset, count: Int? = nil, batchSize: Int = 100,
                               measurement: CurvatureMeasurement = CurvatureMeasurement(), firstBatch: Int = 0) -> Values {
        let n = Swift.min(count ?? dataset.count, dataset.count)
        precondition(batchSize >= 1, "CurvatureSummary.measure: batchSize must be ≥ 1")
        precondition(firstBatch >= 0, "CurvatureSummary.measure: firstBatch must be ≥ 0")
        var batches: [CurvatureMeasurement.Batch] = []
        var start = 0, index = UInt64(firstBatch)
        while start < n {
            let end = Swift.min(n, start + batchSize)
            var m = measurement
            m.powerIteration.seed &+= index &* 0x9E37_79B9
            m.hutchinson?.seed &+= index &* 0x9E37_79B9
            m.robustness?.seed &+= index &* 0x9E37_79B9
            let x = dataset.images[rows: start..<end].copy()
            batches.append(m.measure(model: model, at: x, labels: Array(dataset.labels[start..<end])))
            start = end
            index += 1
        }
        return Values(batches: batches, measurement: measurement)
    }

    /// The summary of ``measure(model:dataset:count:batchSize:measurement:firstBatch:)``.
    public static func evaluate(model: any Layer, dataset: Dataset, count: Int? = nil, batchSize: Int = 100,
                                measurement: CurvatureMeasurement = CurvatureMeasurement(), firstBatch: Int = 0) -> CurvatureSummary {
        CurvatureSummary(values: measure(model: model, dataset: dataset, count: count, batchSize: batchSize,
                                         measurement: measurement, firstBatch: firstBatch),
                         measurement: measurement)
    }
}

/// SPEC G6 (the paper's Table 3): the relative train–test discrepancy `|g(test) − g(train)| / g(test)`
/// of the means of G1, G2 and G3.
public struct TrainTestDiscrepancy: Codable, Sendable, Equatable {
    public var gradientNorm: Double
    public var spectralNorm: Double
    public var curvature: Double

    public init(train: CurvatureSummary, test: CurvatureSummary) {
        gradientNorm = Self.discrepancy(train: train.gradientNorm.mean, test: test.gradientNorm.mean)
        spectralNorm = Self.discrepancy(train: train.spectralNorm.mean, test: test.spectralNorm.mean)
        curvature = Self.discrepancy(train: train.curvature.mean, test: test.curvature.mean)
    }

    /// `|test − train| / test` (infinite when test is 0 and train is not; 0 when both are).
    public static func discrepancy(train: Double, test: Double) -> Double {
        if test == 0 { return train == 0 ? 0 : .infinity }
        return Swift.abs(test - train) / Swift.abs(test)
    }
}
