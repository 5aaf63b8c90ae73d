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

    /// Every protocol run's replicates, pooled (in plan order).
    var pooled: [PooledResults] {
        outcome.groups.map { PooledResults(group: $0, results: outcome.replicates(of: $0).map(\.result), seed: outcome.plan.seed) }
    }

    /// The claims checked against this run's numbers, with three-way verdicts.
    public var claims: [ClaimCheck] {
        let methods = Dictionary(uniqueKeysWithValues: outcome.groups.map { group in
            let runs = outcome.replicates(of: group)
            return (group, MethodRuns(name: group, results: runs.map(\.result), millisecondsPerStep: runs.map(\.millisecondsPerStep)))
        })
        var settings = ClaimSettings(l2Epsilon: outcome.plan.evaluation.claimEpsilon, linfEpsilon: outcome.plan.evaluation.claimFGSMEpsilon)
        settings.seed = outcome.plan.seed
        return PaperClaims.check(methods, settings: settings)
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
            + "ℓ2 ε ∈ {\(e.epsilons.map { "\($0)" }.joined(separator: ", "))}, ℓ∞ ε ∈ {\((e.fgsmEpsilons ?? e.epsilons).map { "\($0)" }.joined(separator: ", "))}, accuracy on the whole test set, "
            + "checkpoint `\(plan.checkpoint.rawValue).safetensors` |\n"
        s += "| seeds | \(plan.seeds == 1 ? "\(plan.seed)" : "\(plan.seeds): \(plan.seed)…\(plan.seed + UInt64(plan.seeds - 1))") |\n"
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

        s += protocolSection
        let tables = EvaluationReport(results)
        let seedNote = plan.seeds > 1 ? " Values pool the \(plan.seeds) seeds' samples; \"seeds\" gives the mean ± std of the seeds' own values." : ""
        s += "## Table 1 — accuracy and geometry (test samples, per sample)\n\n"
        s += "G1 = ‖∇ₓℓ‖₂, G2 = ‖∇²ₓℓ‖₂ (power iteration), G3 = C(x) = G2/(G1 + 1e-6); paper §5.1. Accuracy on the whole test set "
            + "with its 95 % Wilson interval; G1–G3 are means over the measured samples with 95 % bootstrap intervals.\(seedNote)\n\n"
        s += "| run | accuracy | G1 gradient norm | G2 Hessian norm | G3 curvature | converged |\n|---|---:|---:|---:|---:|---:|\n"
        for p in pooled {
            let converged = p.results.reduce(0) { $0 + ($1.test?.convergedCount ?? 0) }, count = p.results.reduce(0) { $0 + ($1.test?.count ?? 0) }
            s += "| \(p.group) | \(PooledResults.percentText(p.accuracy, seeds: p.acrossSeeds { $0.testAccuracy })) | "
                + "\(PooledResults.meanText(p.mean(\.gradientNorm), seeds: p.acrossSeeds { $0.test?.gradientNorm.mean })) | "
                + "\(PooledResults.meanText(p.mean(\.spectralNorm), seeds: p.acrossSeeds { $0.test?.spectralNorm.mean })) | "
                + "\(PooledResults.meanText(p.mean(\.curvature), seeds: p.acrossSeeds { $0.test?.curvature.mean })) | \(converged)/\(count) |\n"
        }
        s += "\nPaper (ResNet-18, CIFAR-100): Standard 19.66 / 6061.96 / 270.89 / 77.42%, LCNN 22.04 / 1143.62 / 69.50 / 77.30%, "
            + "GradReg 8.86 / 776.56 / 89.47 / 77.20%, LCNN+GradReg 9.87 / 154.36 / 25.30 / 77.29% (G1 / G2 / G3 / accuracy).\n\n"

        s += "## Table 2 — ℓ2 PGD robust accuracy (paper §5.3)\n\n" + robustTable(\.pgd) + "\n"
        s += "Paper (CIFAR-100) at ε = 0.1: Standard 37.55%, LCNN 39.72%, GradReg 61.06%, LCNN+GradReg 63.36%, CURE 61.28%, "
            + "softplus+WD 38.04%, adversarial 64.70%. This run's grid is calibrated to its data (see the protocol section): "
            + "ε = \(plan.evaluation.claimEpsilon) plays the role of the paper's 0.1.\n\n"
        s += auditSection
        s += "## FGSM (ℓ∞) robust accuracy (`000`, Table 8)\n\n" + robustTable(\.fgsm) + "\n"
        s += sanitySection

        s += "## Table 3 — train–test discrepancy |g(test) − g(train)| / g(test) (paper §5.4)\n\n" + tables.table3 + "\n\n"
        s += "Paper (Table 3): G1 11.33–21.82, G2 10.43–12.28, C 0.017–0.146. The claims section tests the ordering with a "
            + "bootstrap over the training and test samples.\n\n"
        s += "## Training cost (paper §5.1)\n\nMilliseconds per optimiser step from each run's `metrics.jsonl` (training part of "
            + "each epoch ÷ its steps, so epochs of any size compare): the median over epochs (and seeds), and the ratio of the means to "
            + "Standard's with a 95 % bootstrap interval over epochs, next to the paper's GPU ratio (~100 / 160 / 270 / 350 / 500 s per "
            + "epoch). The runs ran one after another on the same machine; reused runs keep the times of the session that trained them.\n\n"
        s += "| run | median ms / step | epochs | ×Standard [95 %] | paper ×Standard |\n|---|---:|---:|---:|---:|\n"
        let standardSteps = outcome.replicates(of: "standard").flatMap(\.millisecondsPerStep)
        for group in outcome.groups {
            let steps = outcome.replicates(of: group).flatMap(\.millisecondsPerStep)
            var ratio = "—"
            if !steps.isEmpty, !standardSteps.isEmpty {
                let r = Statistics.bootstrapRatio(steps, standardSteps, seed: plan.seed)
                ratio = String(format: "%.2f ", r.difference) + r.interval.formatted { String(format: "%.2f", $0) }
            }
            s += "| \(group) | \(Self.f(Statistics.median(steps), 4)) | \(steps.count) | \(ratio) | \(Self.f(Self.paperCostRatios[group], 2)) |\n"
        }
        if let sw = Statistics.median(outcome.replicates(of: "softplus-wd").flatMap(\.millisecondsPerStep)),
           let b = Statistics.median(standardSteps), b > 0 {
            s += "\nsoftplus-wd does the same work per step as Standard (only β differs), so its measured ratio, "
                + "\(Self.f(sw / b, 3))×, shows how far this machine's timing noise reaches.\n"
        }
        s += "\n## Data-free curvature bounds (paper §4, Theorem 1, eq. 6)\n\n"
        s += "Σᵢ nᵢ βᵢ Πⱼ≤ᵢ Lipⱼ from the weights alone (no data). A max-pool or a ReLU has no finite curvature bound "
            + "(a max-pool's is unbounded where two inputs of a window tie); a model with one has no bound, and says so.\n\n"
            + "| run | bound | log bound | note |\n|---|---:|---:|---|\n"
        for r in results {
            s += "| \(r.label) | \(Self.f(r.curvatureBound)) | \(Self.f(r.logCurvatureBound)) | \(r.curvatureBoundSummary?.note ?? "") |\n"
        }
        for name in ["standard", "lcnn"] {
            guard let summary = outcome.run(named: name)?.result.curvatureBoundSummary, summary.isDefined else { continue }
            s += "\nEach layer's contribution to \(name)'s bound:\n\n" + summary.markdownTable + "\n"
        }

        s += "\n## Parametric swish vs centered softplus (`000`)\n\n"
        s += "`lcnn` is the LCNN with the paper's centered softplus (B2); `lcnn-swish` the same LCNN with the parametric swish "
            + "x·σ(βx) of `000` (B3), β learnable in both. `000` (MNIST, SmallCNN, Adam) concludes that centered softplus "
            + "outperforms swish, most of all in adversarial robustness, with similar curvature.\n\n"
        let pair = pooled.filter { $0.group == "lcnn" || $0.group == "lcnn-swish" }
        if pair.isEmpty {
            s += "Not measured (neither run is in this plan).\n"
        } else {
            let e2 = plan.evaluation.claimEpsilon, eInf = plan.evaluation.claimFGSMEpsilon
            s += "| run | accuracy | G1 | C(x) | PGD ε=\(e2) | FGSM ε=\(eInf) |\n|---|---:|---:|---:|---:|---:|\n"
            for p in pair {
                s += "| \(p.group) | \(PooledResults.percentText(p.accuracy)) | \(PooledResults.meanText(p.mean(\.gradientNorm))) | "
                    + "\(PooledResults.meanText(p.mean(\.curvature))) | \(PooledResults.percentText(p.robust(\.pgd, epsilon: e2))) | "
                    + "\(PooledResults.percentText(p.robust(\.fgsm, epsilon: eInf))) |\n"
            }
        }

        let checks = claims
        s += "\n## Paper claims vs this run\n\n"
        s += "Each claim is tested on the measured samples (α = 0.05): **borne out** when the difference is significant in the "
            + "claimed direction, **contradicted** when it is significant the other way, **inconclusive** otherwise. Robust "
            + "accuracies are compared by McNemar's exact test on the same samples, means of per-sample quantities by a paired "
            + "bootstrap, accuracy margins by the paired difference's 95 % interval, costs by a bootstrap over epochs"
            + (plan.seeds > 1 ? "; the seeds' samples are pooled and the seed column says in how many seeds the direction holds" : "")
            + ". \(PaperClaims.summary(checks)).\n\n" + PaperClaims.markdown(checks) + "\n"

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
                if let command = fig.command { s += "Regenerate:\n\n" + block(command) + "\n" }
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
        for p in pooled where p.results.allSatisfy({ $0[keyPath: report] != nil }) {
            let reports = p.results.compactMap { $0[keyPath: report] }
            let clean = Statistics.proportion(successes: reports.reduce(0) { $0 + $1.cleanCorrect }, trials: reports.reduce(0) { $0 + $1.samples })
            s += "| \(p.group) | \(PooledResults.percentText(clean)) | "
                + eps.map { PooledResults.percentText(p.robust(report, epsilon: $0)) }.joined(separator: " | ") + " |\n"
        }
        let n = results.compactMap { $0[keyPath: report]?.samples }.first
        return s + (n.map { "\nOn the first \($0) test samples of each seed, with 95 % Wilson intervals; already misclassified "
            + "samples count as not robust.\n" } ?? "")
    }

    /// How the protocol's free settings were chosen: the weight calibration and the ε sweep.
    var protocolSection: String {
        var s = "## Protocol: calibrated weights and ε (paper appendix E; SPEC S1–S2)\n\n"
        let diverged = outcome.runs.filter { $0.diverged != nil }
        if !diverged.isEmpty {
            s += "**Runs that diverged** (their loss became NaN or infinite; each is measured at its last good epoch, "
                + "which its checkpoint holds):\n\n" + diverged.map { "- \($0.name): \($0.diverged!)" }.joined(separator: "\n") + "\n\n"
        }
        if let calibration = outcome.calibration {
            s += "### Regularisation weights\n\n" + calibration.markdown + "\n"
            s += "Chosen: " + calibration.weights.map { "\($0.weight.method.rawValue) \($0.weight.symbol) = \(CalibrationResult.weight($0.chosen))" }
                .joined(separator: ", ") + " (the paper's CIFAR-100 values: λβ = 1e-4, λγ = 1e-5, λg = 1e-3; CURE 1e-3). "
                + "LCNN + GradReg uses LCNN's and GradReg's, as the paper's appendix E does.\n\n"
        } else {
            s += "### Regularisation weights\n\nNot calibrated in this run: every run keeps the weights in its command line below.\n\n"
        }
        if outcome.epsilonCalibration.isEmpty {
            s += "### ε grid\n\nGiven: ℓ2 {\(outcome.plan.evaluation.epsilons.map { "\($0)" }.joined(separator: ", "))}.\n\n"
        } else {
            s += "### ε grid\n\nRule: ε½ is where the Standard model keeps half of its clean accuracy (the paper's Standard keeps "
                + "37.55 / 77.42 = 49 % at its ε = 0.1); the grid is ε½·{½, 1, 1½, 2}, the proportions of the paper's "
                + "{0.05, 0.1, 0.15, 0.2}, and adversarial training trains at ε½ (the paper trains at 0.1).\n\n"
            for calibration in outcome.epsilonCalibration { s += calibration.markdown + "\n" }
        }
        return s
    }
}
