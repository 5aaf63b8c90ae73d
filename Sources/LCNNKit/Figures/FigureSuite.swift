import Datasets
import Foundation
import NN
import TensorCore

/// The figures drawn from trained checkpoints (SPEC V3–V6) with one set of choices: which test
/// input, how large a window, how fine a grid, which seed. `lcnn plot …` and `lcnn reproduce`
/// both go through here, so a figure in a report is exactly what its printed command redraws.
public struct FigureSuite: Sendable {
    /// Index into the test set of the input the geometry figures are drawn around (V4, V5).
    public var inputIndex = 0
    /// Test samples of the gradient-robustness curves (V3).
    public var samples = 100
    /// Noise levels of V3, log-spaced over 10⁻³…10⁻¹.
    public var levels = 7
    /// Half-width of the V4 window; nil: twice the farthest boundary along u among the models.
    public var boundaryRadius: Float?
    /// Half-width of the V5 window; nil: `regionsScale` × the distance at which the plane's four
    /// axis rays leave the input's class (their median, the largest among the models).
    public var regionsRadius: Float?
    public var regionsScale: Float = 1.5
    /// Cells per side of the V4 and V5 grids.
    public var resolution = 121
    /// Test index of the path's start (V6); nil: the first test input every model predicts correctly.
    public var pathStart: Int?
    /// Test index of the path's other end (V6); nil: see ``pathEnd(_:test:from:checkPoints:)``.
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
    public func robustness(_ models: [NamedModel], test: Dataset, into directory: URL) throws -> FigureRecord {
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
    public func boundary(_ models: [NamedModel], test: Dataset, classNames: [String]?, into directory: URL) throws -> FigureRecord {
        let analyses = try BoundaryPlaneFigure.analyse(models, input: try input(inputIndex, of: test), radius: boundaryRadius,
                                                       resolution: resolution, seed: seed)
        return try BoundaryPlaneFigure.render(analyses, classNames: classNames, into: directory)
    }

    /// V5: decision regions on a random plane through test input `inputIndex`.
    public func regions(_ models: [NamedModel], test: Dataset, classNames: [String]?, into directory: URL) throws -> FigureRecord {
        let x = try input(inputIndex, of: test)
        let radius = try regionsRadius ?? regionsScale * RegionsFigure.rayDistance(models, input: x, seed: seed)
        let analyses = try RegionsFigure.analyse(models, input: x, radius: radius, resolution: resolution, seed: seed)
        return try RegionsFigure.render(analyses, classNames: classNames, into: directory)
    }

    /// The path's start: `pathStart`, or the first test input every model predicts correctly.
    func pathBegin(_ models: [NamedModel], test: Dataset) throws -> Int {
        if let pathStart { return try checkedIndex(pathStart, in: test) }
        let batch = test.prefix(min(test.count, 500))
        let predictions = models.map { m in withoutGrad { inferenceClassifier(m.model)(batch.images) }.argmax(axis: -1) }
        guard let first = batch.labels.indices.first(where: { i in predictions.allSatisfy { $0[i] == batch.labels[i] } }) else {
            throw TrainingError.invalidConfiguration("no test input among the first \(batch.count) is predicted correctly by every model")
        }
        return first
    }

    /// The path's other end: `pathTarget`, or, among the other test inputs with the same label
    /// that every model predicts, like the start `from`, as that label, the first whose straight
    /// segment from the input leaves the class for some model (so the path has something to
    /// show), else the first of them.
    func pathEnd(_ models: [NamedModel], test: Dataset, from: Int, checkPoints: Int) throws -> Int {
        if let pathTarget { return try checkedIndex(pathTarget, in: test) }
        let label = test.labels[try checkedIndex(from, in: test)]
        let candidates = Array((0..<test.count).filter { $0 != from && test.labels[$0] == label }.prefix(200))
        let batch = test.subset([from] + candidates).images
        let classifiers = models.map { inferenceClassifier($0.model) }
        let predictions = classifiers.map { c in withoutGrad { c(batch) }.argmax(axis: -1) }
        guard predictions.allSatisfy({ $0[0] == label }) else {
            throw TrainingError.invalidConfiguration("not every model predicts test input \(from) as its label \(label): "
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

    /// V6: a path inside the class region between two test inputs of one class, for every model.
    public func path(_ models: [NamedModel], test: Dataset, finder: ClassPathFinder, into directory: URL) throws -> FigureRecord {
        let begin = try pathBegin(models, test: test)
        let end = try pathEnd(models, test: test, from: begin, checkPoints: finder.checkPoints)
        let from = try input(begin, of: test), to = try input(end, of: test)
        let paths = try models.map { m in
            (label: m.label, path: try finder.find(inferenceClassifier(m.model), from: from, to: to))
        }
        return try ClassPathFigure.render(paths, into: directory)
    }
}
