import ArgumentParser

/// `lcnn`: train and analyse low-curvature neural networks (Srinivas et al., NeurIPS 2022).
@main
struct LCNNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lcnn",
        abstract: "Train and analyse low-curvature neural networks (LCNNs).",
        discussion: """
            A Swift toolkit for the method of "Flatten the Curve: Efficiently Training \
            Low-Curvature Neural Networks" (NeurIPS 2022): centered-softplus activations with a \
            learnable β, spectrally normalised layers, γ-Lipschitz batch norm, and the \
            measurements of curvature and robustness the paper reports.
            """,
        subcommands: [DemoCommand.self, TrainCommand.self, EvalCommand.self, CurvatureCommand.self, AttackCommand.self,
                      MoonsCommand.self, PlotCommand.self, ReproduceCommand.self, CalibrateCommand.self, BenchCommand.self])
}
