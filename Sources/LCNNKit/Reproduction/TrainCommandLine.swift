import Foundation
import NN

extension TrainConfig {
    /// The `lcnn train` options that describe this configuration: `--dataset` and `--model`
    /// always, every other option only where it differs from ``TrainConfig``'s default. Parsing
    /// them with `lcnn train` gives back an equal configuration, except for the two settings that
    /// have no option: ``hiddenWidths`` and ``ObjectiveOptions/inputRange`` (see
    /// ``isCommandLineRepresentable``).
    public func commandLineArguments() -> [String] {
        let d = TrainConfig()
        var a: [String] = []
        func put(_ option: TrainOption, _ value: String) { a += [option.flag, value] }
        func add<T: Equatable>(_ option: TrainOption, _ value: T, _ fallback: T, _ text: (T) -> String) {
            if value != fallback { put(option, text(value)) }
        }
        put(.dataset, dataset.rawValue)
        if let dataDirectory { put(.data, dataDirectory) }
        put(.model, architecture.rawValue)
        put(.method, method.rawValue)
        if let activation { put(.activation, activation.rawValue) }
        if let pooling { put(.pooling, pooling.rawValue) }
        let f: (Float) -> String = { "\($0)" }
        add(.epochs, epochs, d.epochs) { "\($0)" }
        add(.batchSize, batchSize, d.batchSize) { "\($0)" }
        add(.optimizer, optimizer, d.optimizer) { $0.rawValue }
        add(.learningRate, learningRate, d.learningRate, f)
        add(.momentum, momentum, d.momentum, f)
        add(.weightDecay, weightDecay, d.weightDecay, f)
        add(.schedule, schedule, d.schedule) { $0.rawValue }
        add(.seed, seed, d.seed) { "\($0)" }
        // `--penalty-form` resets both weights to the form's preset; the weights follow it.
        let o = objective, od = ObjectiveOptions()
        let preset = o.penalty.form == .paper ? LCNNPenalty.paper : LCNNPenalty.reference
        add(.penaltyForm, o.penalty.form, od.penalty.form) { $0.rawValue }
        add(.betaPenalty, o.penalty.betaWeight, preset.betaWeight, f)
        add(.gammaPenalty, o.penalty.gammaWeight, preset.gammaWeight, f)
        add(.gradregWeight, o.gradientPenaltyWeight, od.gradientPenaltyWeight, f)
        add(.cureWeight, o.cureWeight, od.cureWeight, f)
        add(.cureStep, o.cureStep, od.cureStep, f)
        add(.advEpsilon, o.adversarialEpsilon, od.adversarialEpsilon, f)
        add(.advSteps, o.adversarialSteps, od.adversarialSteps) { "\($0)" }
        if let step = o.adversarialStepSize { put(.advStepSize, f(step)) }
        if let trainSubset { put(.trainSubset, "\(trainSubset)") }
        if let testSubset { put(.testSubset, "\(testSubset)") }
        add(.moonsCount, moonsCount, d.moonsCount) { "\($0)" }
        add(.moonsNoise, moonsNoise, d.moonsNoise, f)
        add(.labelNoise, moonsLabelNoise, d.moonsLabelNoise, f)
        return a
    }

    /// Whether ``commandLineArguments()`` describes the whole configuration (the MLP widths and
    /// the adversarial input range have no `lcnn train` option).
    public var isCommandLineRepresentable: Bool {
        hiddenWidths == TrainConfig().hiddenWidths && objective.inputRange == ObjectiveOptions().inputRange
    }

    /// The shell command that trains this configuration into `out`, e.g.
    /// `lcnn train --dataset fashion-mnist --model smallcnn --method lcnn --epochs 4 --out runs/reproduce/runs/lcnn`.
    public func trainCommand(out: String?, executable: String = "lcnn") -> String {
        ShellQuoting.join([executable, "train"] + commandLineArguments() + (out.map { [TrainOption.out.flag, $0] } ?? []))
    }
}

/// Quoting of shell words for the commands printed in reports.
public enum ShellQuoting {
    /// `word` as one POSIX shell word: unchanged when it holds only safe characters, single-quoted otherwise.
    public static func quote(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,/:=+@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The words quoted and joined by spaces.
    public static func join(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }
}
