import Datasets
import Foundation
import NN
import TensorCore

/// The figures drawn from trained checkpoints (SPEC V3–V6) with one set of choices: which test
/// input, how large a window, how fine a grid, which seed. `lcnn plot …` and `lcnn reproduce`
/// both go through here, so a figure in a report is exactly what its printed command redraws.
public struct FigureSuite: Sendable {
    /// Index into the test set of the input the geometry figures are drawn around (V4, V5) and
    /// the path starts from (V6).
    public var inputIndex = 0
    /// Test samples of the gradient-robustness curves (V3).
    public var samples = 100
    /// Noise levels of V3, log-spaced over 10⁻³…10⁻¹.
    public var levels = 7
    /// Half-width of the V4 window; nil: twice the farthest boundary along u among the models.
    public var boundaryRadius: Float?
    /// Half-width of the V5 window; nil: `regionsScale` × the largest DeepFool distance of the input.
    public var regionsRadius: Float?
    public var regionsScale: Float = 8
    /// Cells per side of the V4 and V5 grids.
    public var resolution = 121
    /// Test index of the path's other end (V6); nil: the next test input of the same label that
    /// every model predicts correctly.
    public var pathTarget: Int?
    public var seed: UInt64 = 0

    public init() {}

    /// A labelled model, as the figures name it.
    public typealias NamedModel = (label: String, model: any Layer)

    /// The checkpoints as labelled models.
    public static func named(_ checkpoints: [CheckpointModel]) -> [NamedModel] {
        checkpoints.map { ($0.label, $0.model) }
    }

    /// `index`, when it is an index of the test set.
    func checkedIndex(_ index: Int, in test: Dataset) throws -> Int {
        guard (0..<test.count).contains(index) else {
            throw TrainingError.invalidConfiguration("input index \(index) is outside the test set (0..<\(test.count))")
        }
        return index
    }

    /// One test input as a batch of one.
    func input(_ index: Int, of test: Dataset) throws -> Tensor {
        test.subset([try checkedIndex(index, in: test)]).images
    }

    /// V3: gradient robustness of every model on the first `samples` test inputs.
    public func robustness(_ models: [NamedModel], test: Dataset, into directory: URL) throws -> RenderedFigure {
        let measurement = CurvatureMeasurement(powerIteration: HessianPowerIteration(iterations: 20, seed: seed),
                                               robustness: GradientRobustness(levels: levels, seed: seed))
        let curves = models.map { m in
            let summary = CurvatureSummary.evaluate(model: m.model, dataset: test.prefix(samples), batchSize: 100,
                                                    measurement: measurement)
            return GradientRobustnessFigure.Curve(label: m.label, levels: summary.robustness ?? [])
        }
        return try GradientRobustnessFigure.render(curves, into: directory)
    }

    /// V4: the boundary near test input `inputIndex` in its adversarial × random plane.
    public func boundary(_ models: [NamedModel], test: Dataset, classNames: [String]?, into directory: URL) throws -> RenderedFigure {
        let analyses = try BoundaryPlaneFigure.analyse(models, input: try input(inputIndex, of: test), radius: boundaryRadius,
                                                       resolution: resolution, seed: seed)
        return try BoundaryPlaneFigure.render(analyses, classNames: classNames, into: directory)
    }

    /// V5: decision regions on a random plane through test input `inputIndex`.
    public func regions(_ models: [NamedModel], test: Dataset, classNames: [String]?, into directory: URL) throws -> RenderedFigure {
        let x = try input(inputIndex, of: test)
        let radius = regionsRadius ?? {
            let distances = models.map { m in
                DeepFool(inputRange: nil).attack(inferenceClassifier(m.model), x).perturbationNorms[0]
            }
            return regionsScale * max(distances.filter(\.isFinite).max() ?? 0.1, 1e-3)
        }()
        let analyses = try RegionsFigure.analyse(models, input: x, radius: radius, resolution: resolution, seed: seed)
        return try RegionsFigure.render(analyses, classNames: classNames, into: directory)
    }

    /// The path's other end: `pathTarget`, or, among the later test inputs with the same label
    /// that every model predicts, like `inputIndex`, as that label, the first whose straight
    /// segment from the input leaves the class for some model (so the path has something to
    /// show), else the first of them.
    func pathEnd(_ models: [NamedModel], test: Dataset, checkPoints: Int) throws -> Int {
        if let pathTarget { return pathTarget }
        let label = test.labels[try checkedIndex(inputIndex, in: test)]
        let candidates = Array((0..<test.count).filter { $0 != inputIndex && test.labels[$0] == label }.prefix(200))
        let batch = test.subset([inputIndex] + candidates).images
        let classifiers = models.map { inferenceClassifier($0.model) }
        let predictions = classifiers.map { c in withoutGrad { c(batch) }.argmax(axis: -1) }
        guard predictions.allSatisfy({ $0[0] == label }) else {
            throw TrainingError.invalidConfiguration("not every model predicts test input \(inputIndex) as its label \(label): "
                                                     + "pick another input")
        }
        let correct = candidates.enumerated().filter { k, _ in predictions.allSatisfy { $0[k + 1] == label } }.map(\.element)
        guard let first = correct.first else {
            throw TrainingError.invalidConfiguration("no other test input of label \(label) is predicted correctly by every model")
        }
        let start = batch.scalars.prefix(test.sampleSize)
        for j in correct {
            let end = test.subset([j]).images.scalars
            var rows: [Float] = []
            for i in 0..<checkPoints {
                let t = Float(i) / Float(checkPoints - 1)
                rows += zip(start, end).map { $0 + t * ($1 - $0) }
            }
            let leaves = classifiers.contains { c in
                BatchedPrediction.classes(c, rows: rows, sampleShape: test.sampleShape, batchSize: 256).contains { $0 != label }
            }
            if leaves { return j }
        }
        return first
    }

    /// V6: a path inside the class region between test inputs `inputIndex` and its path end,
    /// for every model.
    public func path(_ models: [NamedModel], test: Dataset, finder: ClassPathFinder, into directory: URL) throws -> RenderedFigure {
        let end = try pathEnd(models, test: test, checkPoints: finder.checkPoints)
        let from = try input(inputIndex, of: test), to = try input(end, of: test)
        let paths = try models.map { m in
            (label: m.label, path: try finder.find(inferenceClassifier(m.model), from: from, to: to))
        }
        return try ClassPathFigure.render(paths, into: directory)
    }
}
