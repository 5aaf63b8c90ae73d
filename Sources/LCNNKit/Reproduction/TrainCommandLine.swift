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
        var a: [String] = ["--dataset", dataset.rawValue]
        if let dataDirectory { a += ["--data", dataDirectory] }
        a += ["--model", architecture.rawValue, "--method", method.rawValue]
        if let activation { a += ["--activation", activation.rawValue] }
        if let pooling { a += ["--pooling", pooling.rawValue] }
        func add<T: Equatable>(_ name: String, _ value: T, _ fallback: T, _ text: (T) -> String) {
            if value != fallback { a += [name, text(value)] }
        }
        let f: (Float) -> String = { "\($0)" }
        add("--epochs", epochs, d.epochs) { "\($0)" }
        add("--batch-size", batchSize, d.batchSize) { "\($0)" }
        add("--optimizer", optimizer, d.optimizer) { $0.rawValue }
        add("--lr", learningRate, d.learningRate, f)
        add("--momentum", momentum, d.momentum, f)
        add("--weight-decay", weightDecay, d.weightDecay, f)
        add("--schedule", schedule, d.schedule) { $0.rawValue }
        add("--seed", seed, d.seed) { "\($0)" }
        // `--penalty-form` resets both weights to the form's preset; the weights follow it.
        let o = objective, od = ObjectiveOptions()
        let preset = o.penalty.form == .paper ? LCNNPenalty.paper : LCNNPenalty.reference
        add("--penalty-form", o.penalty.form, od.penalty.form) { $0.rawValue }
        add("--beta-penalty", o.penalty.betaWeight, preset.betaWeight, f)
        add("--gamma-penalty", o.penalty.gammaWeight, preset.gammaWeight, f)
        add("--gradreg-weight", o.gradientPenaltyWeight, od.gradientPenaltyWeight, f)
        add("--cure-weight", o.cureWeight, od.cureWeight, f)
        add("--cure-step", o.cureStep, od.cureStep, f)
        add("--adv-epsilon", o.adversarialEpsilon, od.adversarialEpsilon, f)
        add("--adv-steps", o.adversarialSteps, od.adversarialSteps) { "\($0)" }
        if let step = o.adversarialStepSize { a += ["--adv-step-size", f(step)] }
        if let trainSubset { a += ["--train-subset", "\(trainSubset)"] }
        if let testSubset { a += ["--test-subset", "\(testSubset)"] }
        add("--moons-count", moonsCount, d.moonsCount) { "\($0)" }
        add("--moons-noise", moonsNoise, d.moonsNoise, f)
        add("--label-noise", moonsLabelNoise, d.moonsLabelNoise, f)
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
        ShellQuoting.join([executable, "train"] + commandLineArguments() + (out.map { ["--out", $0] } ?? []))
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
