import Foundation
import NN

/// Everything that defines a training run; `lcnn train` builds it from options or from a JSON
/// file (the same keys), and every checkpoint stores it, so `--resume` needs nothing else.
public struct TrainConfig: Sendable, Codable, Equatable {
    public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case sgd, adam, adamw }
    public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
        /// ×0.1 at 75 % and 87.5 % of the epochs (the paper, SPEC T8).
        case multistep
        case cosine
        case constant
    }

    public var dataset: DatasetName = .fashionMNIST
    /// Directory of the dataset files (nil: the dataset's default location).
    public var dataDirectory: String? = nil
    public var architecture: Architecture = .smallcnn
    public var method: TrainingMethod = .standard
    /// Overrides the method's activation (`--activation`).
    public var activation: ActivationKind? = nil
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var optimizer: OptimizerKind = .sgd
    public var learningRate: Float = 0.1
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var schedule: ScheduleKind = .multistep
    public var seed: UInt64 = 0
    public var objective = ObjectiveOptions()
    /// Use only the first N training / test samples (quick runs); nil means all.
    public var trainSubset: Int? = nil
    public var testSubset: Int? = nil
    /// Two moons: points, noise and label-noise fraction.
    public var moonsCount: Int = 1000
    public var moonsNoise: Float = 0.1
    public var moonsLabelNoise: Float = 0
    /// MLP hidden widths (two moons).
    public var hiddenWidths: [Int] = [64, 64]
    /// Pooling of the SmallCNN and VGG (`--pooling`); nil: the model's default, average pooling,
    /// whose slope and curvature the data-free bound accounts for. `max` keeps the max-pool of
    /// `000` for comparison (its curvature is unbounded where a window's inputs tie).
    public var pooling: PoolingKind? = nil

    public init() {}

    /// Reads a JSON configuration; absent keys keep their defaults. A file that cannot be read,
    /// is not a configuration, or (with `validate`) holds invalid settings (``validate()``) is an
    /// error naming it. `validate: false` is for a partial file that command-line options complete
    /// (the caller validates the result).
    public static func load(from url: URL, validate: Bool = true) throws -> TrainConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.invalidConfiguration("\(url.path): cannot be read (\(error.localizedDescription))")
        }
        return try decode(data, file: url.path, validate: validate)
    }

    /// A configuration from JSON bytes, validated unless `validate` is false; `file` names them in errors.
    public static func decode(_ data: Data, file: String, validate: Bool = true) throws -> TrainConfig {
        let config: TrainConfig
        do {
            config = try JSONDecoder().decode(TrainConfig.self, from: data)
        } catch {
            throw TrainingError.invalidConfiguration("\(file): not a training configuration (\(EpochMetrics.decodingReason(error)))")
        }
        guard validate else { return config }
        do { try config.validate() } catch let TrainingError.invalidConfiguration(reason) {
            throw TrainingError.invalidConfiguration("\(file): \(reason)")
        }
        return config
    }

    /// The configuration as pretty-printed JSON (stored in checkpoints and `config.json`).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// One setting on which two configurations disagree: its JSON key path (e.g. `learningRate`,
    /// `objective.penalty.betaWeight`) and the two values as JSON text.
    public struct Difference: Sendable, Equatable {
        public let key: String
        public let stored: String
        public let requested: String
    }

    /// The settings on which `stored` and `requested` disagree, compared through their JSON
    /// encodings (so every field, nested ones included, is covered without listing them), in key
    /// order. Empty when the configurations are equal.
    public static func differences(_ stored: TrainConfig, _ requested: TrainConfig) throws -> [Difference] {
        func flatten(_ value: Any, _ path: String, into out: inout [String: String]) {
            if let object = value as? [String: Any] {
                for (key, inner) in object { flatten(inner, path.isEmpty ? key : path + "." + key, into: &out) }
            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                out[path] = String(decoding: data, as: UTF8.self)
            }
        }
        func settings(_ c: TrainConfig) throws -> [String: String] {
            let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c))
            var out: [String: String] = [:]
            flatten(object, "", into: &out)
            return out
        }
        let (a, b) = (try settings(stored), try settings(requested))
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            let (x, y) = (a[key] ?? "absent", b[key] ?? "absent")
            return x == y ? nil : Difference(key: key, stored: x, requested: y)
        }
    }

    /// Checks option combinations before anything runs.
    public func validate() throws {
        func fail(_ message: String) throws -> Never { throw TrainingError.invalidConfiguration(message) }
        if epochs < 1 { try fail("epochs must be at least 1, got \(epochs)") }
        if batchSize < 1 { try fail("batch size must be at least 1, got \(batchSize)") }
        if !(learningRate > 0) { try fail("learning rate must be positive, got \(learningRate)") }
        if weightDecay < 0 { try fail("weight decay must be non-negative, got \(weightDecay)") }
        if dataset == .moons && architecture != .mlp { try fail("two moons needs --model mlp, got \(architecture.rawValue)") }
        if dataset == .moons {
            if moonsCount < 2 { try fail("two moons needs at least 2 points, got \(moonsCount)") }
            if !(moonsNoise >= 0) || !moonsNoise.isFinite { try fail("moons noise must be a finite value ≥ 0, got \(moonsNoise)") }
            if !(0...1).contains(moonsLabelNoise) { try fail("label noise must lie in [0, 1], got \(moonsLabelNoise)") }
        }
        if hiddenWidths.isEmpty || hiddenWidths.contains(where: { $0 < 1 }) { try fail("hidden widths must be positive, got \(hiddenWidths)") }
        if objective.adversarialEpsilon < 0 || objective.adversarialSteps < 0 { try fail("adversarial ε and steps must be non-negative") }
        if let n = trainSubset, n < 1 { try fail("train subset must be positive") }
        if let n = testSubset, n < 1 { try fail("test subset must be positive") }
        // Sizes a run allocates up front: a corrupt or hostile file must not ask for terabytes.
        if epochs > 1_000_000 { try fail("epochs must be at most 1,000,000, got \(epochs)") }
        if batchSize > 1 << 20 { try fail("batch size must be at most \(1 << 20), got \(batchSize)") }
        if dataset == .moons && moonsCount > 10_000_000 { try fail("two moons takes at most 10,000,000 points, got \(moonsCount)") }
        if hiddenWidths.contains(where: { $0 > 1 << 16 }) { try fail("hidden widths must be at most \(1 << 16), got \(hiddenWidths)") }
        if objective.adversarialSteps > 10_000 { try fail("adversarial steps must be at most 10,000, got \(objective.adversarialSteps)") }
        let reals: [(String, Float)] = [
            ("learning rate", learningRate), ("momentum", momentum), ("weight decay", weightDecay),
            ("adversarial ε", objective.adversarialEpsilon), ("gradient penalty weight", objective.gradientPenaltyWeight),
            ("CURE weight", objective.cureWeight), ("CURE step", objective.cureStep),
            ("β penalty weight", objective.penalty.betaWeight), ("γ penalty weight", objective.penalty.gammaWeight),
        ]
        for (name, value) in reals where !value.isFinite { try fail("\(name) must be finite, got \(value)") }
        if !(0...1).contains(momentum) { try fail("momentum must lie in [0, 1], got \(momentum)") }
    }

    /// The decoding keeps defaults for absent keys.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.dataset, &dataset)
        dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory)
        try read(.architecture, &architecture)
        try read(.method, &method)
        activation = try c.decodeIfPresent(ActivationKind.self, forKey: .activation)
        try read(.epochs, &epochs)
        try read(.batchSize, &batchSize)
        try read(.optimizer, &optimizer)
        try read(.learningRate, &learningRate)
        try read(.momentum, &momentum)
        try read(.weightDecay, &weightDecay)
        try read(.schedule, &schedule)
        try read(.seed, &seed)
        try read(.objective, &objective)
        trainSubset = try c.decodeIfPresent(Int.self, forKey: .trainSubset)
        testSubset = try c.decodeIfPresent(Int.self, forKey: .testSubset)
        try read(.moonsCount, &moonsCount)
        try read(.moonsNoise, &moonsNoise)
        try read(.moonsLabelNoise, &moonsLabelNoise)
        try read(.hiddenWidths, &hiddenWidths)
        pooling = try c.decodeIfPresent(PoolingKind.self, forKey: .pooling)
    }
}

/// Why a run stopped.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    /// A loss term was NaN or infinite: the run stops and the last good checkpoint stays.
    case nonFiniteLoss(epoch: Int, step: Int, term: String, value: Float)
    case checkpoint(String)
    /// A file a run reads back (`metrics.jsonl`, `config.json`) is corrupt; the reason names the line.
    case invalidFile(file: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "invalid configuration: \(m)"
        case let .nonFiniteLoss(epoch, step, term, value):
            let position = step >= 0 ? "at epoch \(epoch + 1), step \(step + 1)" : "at the end of epoch \(epoch + 1)"
            return "training stopped: the \(term) term was \(value) \(position); "
                + "the last good checkpoint is kept (try a smaller learning rate)"
        case .checkpoint(let m): return "checkpoint: \(m)"
        case let .invalidFile(file, reason): return "\(file): \(reason)"
        }
    }
}
