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

    /// Summarises per-sample values collected over batches.
    public init(batches: [CurvatureMeasurement.Batch], measurement: CurvatureMeasurement) {
        let g = batches.flatMap(\.gradientNorm), s = batches.flatMap(\.spectralNorm), c = batches.flatMap(\.curvature)
        count = g.count
        gradientNorm = MeanStd(g)
        spectralNorm = MeanStd(s)
        curvature = MeanStd(c)
        convergedCount = batches.reduce(0) { $0 + $1.power.convergedCount }
        meanLoss = count > 0 ? batches.reduce(0) { $0 + Double($1.summedLoss) } / Double(count) : 0
        self.measurement = measurement
        perSample = PerSampleCurvature(gradientNorm: g, spectralNorm: s, curvature: c)
        frobeniusNorm = measurement.hutchinson == nil ? nil : MeanStd(batches.flatMap { $0.frobeniusNorm ?? [] })
        if let r = measurement.robustness {
            let meanC = curvature.mean
            robustness = r.noiseNorms.enumerated().map { level, norm in
                GradientRobustness.Level(noiseNorm: Double(norm),
                                         ratio: MeanStd(batches.flatMap { $0.robustnessRatios?[level] ?? [] }),
                                         theory: Double(norm) * meanC)
            }
        } else {
            robustness = nil
        }
    }

    /// Measures the first `count` samples of `dataset` (all when nil) in batches of `batchSize`,
    /// with the model in evaluation mode. Batch b uses seeds offset by b, so random starts and
    /// noise directions differ between batches yet the run is reproducible.
    public static func evaluate(model: any Layer, dataset: Dataset, count: Int? = nil, batchSize: Int = 100,
                                measurement: CurvatureMeasurement = CurvatureMeasurement()) -> CurvatureSummary {
        let n = Swift.min(count ?? dataset.count, dataset.count)
        precondition(batchSize >= 1, "CurvatureSummary.evaluate: batchSize must be ≥ 1")
        var batches: [CurvatureMeasurement.Batch] = []
        var start = 0, index: UInt64 = 0
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
        return CurvatureSummary(batches: batches, measurement: measurement)
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
