import Foundation

/// `report.md` of a reproduction: the analogues of the paper's Tables 1–3 (§5.1, §5.3, §5.4),
/// FGSM robust accuracy (`000`), the training-cost ratios (§5.1), the data-free bounds (§4,
/// Theorem 1), the parametric-swish vs centered-softplus comparison of `000`, the paper's claims
/// checked against the measured numbers, and the figures — each with the command that
/// regenerates it. Every number is as measured; no verdict is written in advance.
public struct ReproductionReport {
    public var outcome: ReproductionOutcome
    public var figures: [ReportFigureEntry]
    /// The command line that produced the report.
    public var commandLine: String
    public var date: Date
    /// Wall-clock seconds of the whole reproduction (nil: not stated).
    public var wallSeconds: Double?
    public var executable = "lcnn"

    public init(outcome: ReproductionOutcome, figures: [ReportFigureEntry], commandLine: String, date: Date = Date()) {
        self.outcome = outcome
        self.figures = figures
        self.commandLine = commandLine
        self.date = date
    }

    /// The paper's training time per epoch relative to Standard (§5.1: ~100, 160, 270, 350, 500 s on a GTX 1080 Ti).
    public static let paperCostRatios: [String: Double] = [
        "standard": 1, "softplus-wd": 1, "lcnn": 1.6, "gradreg": 2.7, "lcnn+gradreg": 3.5, "cure": 5, "adversarial": 5,
    ]

    static func f(_ x: Double?, _ digits: Int = 4) -> String {
        guard let x, x.isFinite else { return "—" }
        return String(format: "%.\(digits)g", x)
    }
    static func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
    static func pm(_ m: MeanStd?) -> String { m.map { "\(f($0.mean)) ± \(f($0.std, 3))" } ?? "—" }

    var results: [EvaluationResult] { outcome.runs.map(\.result) }
    var standard: ReproductionOutcome.Run? { outcome.run(named: "standard") }

    /// The claims checked against this run's numbers.
    public var claims: [ClaimCheck] {
        PaperClaims.check(Dictionary(outcome.runs.map { run in
            var m = RunMeasurements(run.result)
            m.secondsPerEpoch = run.secondsPerEpoch ?? m.secondsPerEpoch
            return (run.name, m)
        }, uniquingKeysWith: { a, _ in a }))
    }

    /// The `lcnn eval` command that measures every run's checkpoint as this report did.
    public var evalCommand: String {
        let e = outcome.plan.evaluation
        var words = [executable, "eval"]
        for run in outcome.runs { words += ["--checkpoint", printed(run) + "/" + run.checkpoint.lastPathComponent] }
        if let data = outcome.plan.dataDirectory { words += ["--data", data] }
        words += ["--samples", "\(e.samples)", "--batch-size", "\(e.batchSize)", "--power-iterations", "\(e.powerIterations)"]
        if e.tolerance != 1e-3 { words += ["--tolerance", "\(e.tolerance)"] }
        words += ["--epsilons", e.epsilons.map { "\($0)" }.joined(separator: ",")]
        if e.seed != 0 { words += ["--seed", "\(e.seed)"] }
        words += ["--out", outcome.directoryPath + (outcome.directoryPath.hasSuffix("/") ? "" : "/") + "eval"]
        return ShellQuoting.join(words)
    }

    func printed(_ run: ReproductionOutcome.Run) -> String {
        (outcome.directoryPath.hasSuffix("/") ? outcome.directoryPath : outcome.directoryPath + "/") + Reproduction.runsDirectoryName + "/" + run.name
    }

    func block(_ command: String) -> String { "```sh\n\(command)\n```\n" }

    public var markdown: String {
        let plan = outcome.plan
        let formatter = ISO8601DateFormatter()
        var s = "# Reproduction of \"Flatten the Curve\" (Srinivas et al., NeurIPS 2022)\n\n"
        let first = plan.runs.first?.config
        s += "| | |\n|---|---|\n"
        s += "| dataset | \(plan.dataset.rawValue)\(plan.dataDirectory.map { " (`\($0)`)" } ?? "") |\n"
        s += "| model | \(plan.architecture.rawValue) |\n"
        s += "| size | \(plan.size.rawValue) |\n"
        if let c = first {
            s += "| training | \(c.trainSubset.map { "first \($0) training samples" } ?? "whole training set"), \(c.epochs) epochs, "
                + "batch \(c.batchSize), \(c.optimizer.rawValue) lr \(c.learningRate) (\(c.schedule.rawValue)), momentum \(c.momentum), "
                + "weight decay \(c.weightDecay)\(c.testSubset.map { "; per-epoch test accuracy on the first \($0) test samples" } ?? "") |\n"
        }
        let e = plan.evaluation
        s += "| measurements | \(e.samples) test and \(e.samples) training samples, \(e.powerIterations) power iterations, "
            + "ε ∈ {\(e.epsilons.map { "\($0)" }.joined(separator: ", "))}, accuracy on the whole test set, "
            + "checkpoint `\(plan.checkpoint.rawValue).safetensors` |\n"
        s += "| seed | \(plan.seed) |\n"
        s += "| date | \(formatter.string(from: date)) |\n"
        if let wallSeconds {
            let reused = outcome.runs.filter { !$0.trained }.count
            let note = reused == 0 ? "every run trained" : "\(reused) of \(outcome.runs.count) runs reused, not retrained"
            s += "| wall time | \(String(format: "%.0f", wallSeconds)) s (\(note)) |\n"
        }
        s += "| command | `\(commandLine.isEmpty ? "(library call)" : commandLine)` |\n\n"
        s += "The paper trains ResNet-18 on CIFAR-10/100 for 200 epochs; this run's dataset, model and size are those above, "
            + "so its numbers are analogues of the paper's, not copies. Results are stated as measured.\n\n"

        s += "## Runs\n\nEach run is an ordinary `\(executable) train` run; the command retrains it exactly "
            + "(same seed and data order).\n\n| run | what | reused | command |\n|---|---|---|---|\n"
        for run in outcome.runs {
            var cmd = run.config.trainCommand(out: printed(run), executable: executable)
            if !run.config.isCommandLineRepresentable { cmd += " (plus `\(Reproduction.runsDirectoryName)/\(run.name)/config.json` via --config)" }
            s += "| \(run.name) | \(run.summary) | \(run.trained ? "no" : "yes") | `\(cmd)` |\n"
        }
        s += "\nThe measurements below (Tables 1–3, FGSM, bounds) are regenerated by\n\n" + block(evalCommand) + "\n"

        let tables = EvaluationReport(results)
        s += "## Table 1 — accuracy and geometry (test samples, per sample, mean ± std)\n\n"
        s += "G1 = ‖∇ₓℓ‖₂, G2 = ‖∇²ₓℓ‖₂ (power iteration), G3 = C(x) = G2/(G1 + 1e-6); paper §5.1.\n\n"
        s += "| run | accuracy | G1 gradient norm | G2 Hessian norm | G3 curvature | converged |\n|---|---:|---:|---:|---:|---:|\n"
        for r in results {
            s += "| \(r.label) | \(Self.pct(r.testAccuracy)) | \(Self.pm(r.test?.gradientNorm)) | \(Self.pm(r.test?.spectralNorm)) | "
                + "\(Self.pm(r.test?.curvature)) | \(r.test.map { "\($0.convergedCount)/\($0.count)" } ?? "—") |\n"
        }
        s += "\nPaper (ResNet-18, CIFAR-100): Standard 19.66 / 6061.96 / 270.89 / 77.42%, LCNN 22.04 / 1143.62 / 69.50 / 77.30%, "
            + "GradReg 8.86 / 776.56 / 89.47 / 77.20%, LCNN+GradReg 9.87 / 154.36 / 25.30 / 77.29% (G1 / G2 / G3 / accuracy).\n\n"

        s += "## Table 2 — ℓ2 PGD robust accuracy (paper §5.3)\n\n" + robustTable(\.pgd) + "\n"
        s += "Paper (CIFAR-100) at ε = 0.1: Standard 37.55%, LCNN 39.72%, GradReg 61.06%, LCNN+GradReg 63.36%, CURE 61.28%, "
            + "softplus+WD 38.04%, adversarial 64.70%.\n\n"
        s += "## FGSM (ℓ∞) robust accuracy (`000`, Table 8)\n\n" + robustTable(\.fgsm) + "\n"

        s += "## Table 3 — train–test discrepancy |g(test) − g(train)| / g(test) (paper §5.4)\n\n" + tables.table3 + "\n\n"
        s += "Paper (Table 3): G1 11.33–21.82, G2 10.43–12.28, C 0.017–0.146.\n\n"

        s += "## Training cost (paper §5.1)\n\nWall-clock seconds of the training part of an epoch from each run's `metrics.jsonl`: "
            + "the median over epochs (robust to the first epoch's warm-up and to passing load) and the mean; the ratio of medians to "
            + "this run's Standard, next to the paper's GPU ratio (~100 / 160 / 270 / 350 / 500 s). The runs ran one after another on "
            + "the same machine; reused runs keep the times of the session that trained them.\n\n"
        s += "| run | median s / epoch | mean s / epoch | ×Standard | paper ×Standard |\n|---|---:|---:|---:|---:|\n"
        let base = standard?.secondsPerEpoch
        for run in outcome.runs {
            let ratio = run.secondsPerEpoch.flatMap { own in base.flatMap { $0 > 0 ? own / $0 : nil } }
            s += "| \(run.name) | \(Self.f(run.secondsPerEpoch, 3)) | \(Self.f(run.result.trainSecondsPerEpoch, 3)) | "
                + "\(Self.f(ratio, 3)) | \(Self.f(Self.paperCostRatios[run.name], 2)) |\n"
        }

        if let sw = outcome.run(named: "softplus-wd")?.secondsPerEpoch, let b = base, b > 0 {
            s += "\nsoftplus-wd does the same work per step as Standard (only β differs), so its measured ratio, "
                + "\(Self.f(sw / b, 3))×, shows how far this machine's timing noise reaches.\n"
        }
        s += "\n## Data-free curvature bounds (paper §4, Theorem 1, eq. 6)\n\n"
        s += "Σᵢ nᵢ βᵢ Πⱼ≤ᵢ Lipⱼ from the weights alone (no data).\n\n| run | bound | log bound |\n|---|---:|---:|\n"
        for r in results { s += "| \(r.label) | \(Self.f(r.curvatureBound)) | \(Self.f(r.logCurvatureBound)) |\n" }

        s += "\n## Parametric swish vs centered softplus (`000`)\n\n"
        s += "`lcnn` is the LCNN with the paper's centered softplus (B2); `lcnn-swish` the same LCNN with the parametric swish "
            + "x·σ(βx) of `000` (B3), β learnable in both. `000` (MNIST, SmallCNN, Adam) concludes that centered softplus "
            + "outperforms swish, most of all in adversarial robustness, with similar curvature.\n\n"
        let pair = [outcome.run(named: "lcnn"), outcome.run(named: "lcnn-swish")].compactMap { $0 }
        if pair.isEmpty {
            s += "Not measured (neither run is in this plan).\n"
        } else {
            s += "| run | activation | accuracy | G1 | G2 | C(x) | PGD ε=0.1 | FGSM ε=0.1 | log bound |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
            for run in pair {
                let m = RunMeasurements(run.result)
                s += "| \(run.name) | \(run.config.activation == .swish ? "parametric swish" : "centered softplus") | "
                    + "\(Self.pct(m.accuracy)) | \(Self.f(m.gradientNorm)) | \(Self.f(m.hessianNorm)) | \(Self.f(m.curvature)) | "
                    + "\(Self.pct(m.robust(m.pgd, 0.1))) | \(Self.pct(m.robust(m.fgsm, 0.1))) | \(Self.f(m.logBound)) |\n"
            }
        }

        let checks = claims
        let held = checks.filter { $0.verdict == .bornOut }.count, failed = checks.filter { $0.verdict == .notBornOut }.count
        s += "\n## Paper claims vs this run\n\n"
        s += "Each verdict is computed from the numbers above: \(held) borne out, \(failed) NOT borne out, "
            + "\(checks.count - held - failed) not measured.\n\n" + PaperClaims.markdown(checks) + "\n"

        s += "\n## Figures\n\n"
        if figures.isEmpty {
            s += "No figures were generated in this run. The figure generators (`\(executable) moons`, `\(executable) plot softplus|robustness|"
                + "boundary|regions|path`) draw Figures 1 and 2 of the paper and the pictures of `002` from these checkpoints.\n"
        }
        for entry in figures {
            switch entry {
            case .figure(let fig):
                s += "### \(fig.title)\n\n![\(fig.title)](\(fig.png))\n\n\(fig.caption) ([SVG](\(fig.svg)))\n\n"
                if !fig.findings.isEmpty { s += fig.findings.map { "- \($0)" }.joined(separator: "\n") + "\n\n" }
                s += "Regenerate:\n\n" + block(fig.command) + "\n"
            case let .failed(generator, error):
                s += "### \(generator) — failed\n\nThe figure generator `\(generator)` failed: \(error)\n\n"
            }
        }
        return s
    }

    func robustTable(_ report: KeyPath<EvaluationResult, RobustAccuracyReport?>) -> String {
        let eps = results.lazy.compactMap { $0[keyPath: report]?.points.map(\.epsilon) }.first ?? []
        guard !eps.isEmpty else { return "Not measured.\n" }
        var s = "| run | clean | " + eps.map { "ε = \($0)" }.joined(separator: " | ") + " |\n|---|---:|"
            + String(repeating: "---:|", count: eps.count) + "\n"
        for r in results {
            guard let rep = r[keyPath: report] else { continue }
            s += "| \(r.label) | \(Self.pct(rep.cleanAccuracy)) | " + rep.points.map { Self.pct($0.robustAccuracy) }.joined(separator: " | ") + " |\n"
        }
        let n = results.compactMap { $0[keyPath: report]?.samples }.first
        return s + (n.map { "\nOn the first \($0) test samples (one sample = \(Self.f(100 / Double(max($0, 1)), 3)) points); "
            + "already misclassified samples count as not robust.\n" } ?? "")
    }
}
