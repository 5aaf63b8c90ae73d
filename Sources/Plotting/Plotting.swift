/// Plotting: figures as SVG and PNG (paper Figures 1 and 2, and the geometry figures of the
/// curvature study). Placeholder until the module lands.
public enum Plotting {}
