import TensorCore

/// The data-free upper bound on a network's curvature (paper Theorem 1 / appendix eq. 6;
/// SPEC B8):
///
///     C_f ≤ Σᵢ nᵢ · C_{fᵢ} · Πⱼ≤ᵢ Lip(fⱼ)
///
/// over the layers fᵢ in forward order, where nᵢ is the width (units per sample) of
/// non-linear layer i, C_{fᵢ} its curvature bound (β for the softplus family, eq. 3) and
/// Lip(fⱼ) the Lipschitz constants: the operator norm of linear and convolution layers (1 after
/// spectral normalisation), `min(1/s, γ)` for γ-Lipschitz BN, `max_c |w_c|/√(var_c + ε)` for
/// affine BN, 1 for softplus, flattening and dropout, the exact operator norm of average
/// pooling (≤ ⌈k/s⌉/k; ½ for 2×2/2) and 1/√(H·W) for global average pooling. Linear layers —
/// average pooling included — add no curvature.
///
/// Residual blocks (outside Theorem 1's chains) are handled by bounding the block as
/// `h·(F + S)` with h = ½ in LCNN form: terms inside F are weighted by the Lipschitz product
/// up to the block input, and the block's Lipschitz constant is `h·(Lip F + Lip S)`.
///
/// Some layers have no finite curvature bound: ReLU (its kink at 0) and max-pooling (where two
/// inputs of a window tie, the maximum switches branch and its second derivative is a Dirac
/// mass). They add a term of curvature +∞ and their path to ``undefinedBy``; the bound is then
/// undefined (``isDefined`` false) and ``value`` is +∞. ``summary`` gives the per-layer table.
public struct CurvatureBound: Sendable {
    /// One non-linear layer's contribution `nᵢ · Cᵢ · Πⱼ≤ᵢ Lipⱼ`.
    public struct Term: Sendable {
        public let layer: String
        public let width: Int
        public let curvature: Double
        public let lipschitzProduct: Double
        public var contribution: Double { Double(width) * curvature * lipschitzProduct }
    }

    public private(set) var terms: [Term] = []
    /// Πⱼ Lip(fⱼ) over the layers accumulated so far.
    public private(set) var lipschitzProduct: Double = 1
    /// Paths of the layers whose curvature has no finite bound (max-pool, ReLU), in forward order.
    public private(set) var undefinedBy: [String] = []
    /// Why each layer of ``undefinedBy`` has no finite bound, one phrase per entry
    /// ("max-pool at pool has unbounded curvature at ties").
    public private(set) var undefinedReasons: [String] = []

    /// Whether every layer has a finite curvature bound (Theorem 1 applies).
    public var isDefined: Bool { undefinedBy.isEmpty }

    /// The bound Σᵢ nᵢ Cᵢ Πⱼ≤ᵢ Lipⱼ; +∞ when undefined.
    public var value: Double { isDefined ? terms.reduce(0) { $0 + $1.contribution } : .infinity }
    /// log of the bound (the paper plots it on a log scale).
    public var logValue: Double { value > 0 ? scalarLog(value) : -.infinity }

    public init() {}

    /// Computes the bound of `model` for inputs of one sample's shape `inputShape`. One forward
    /// pass of a zero input, in evaluation mode, records the layer widths (no data is used).
    public static func compute(for model: any Layer, inputShape: [Int]) -> CurvatureBound {
        _ = model.predict(Tensor.zeros([1] + inputShape))
        var bound = CurvatureBound()
        bound.add(model, path: "")
        return bound
    }

    /// Multiplies the running Lipschitz product by `lipschitz`.
    public mutating func scale(by lipschitz: Double) { lipschitzProduct *= lipschitz }

    /// Adds a non-linear layer of `width` units and curvature bound `curvature`, with Lipschitz
    /// constant `lipschitz` (applied before the term, as in Πⱼ≤ᵢ).
    public mutating func addNonlinearity(_ name: String, width: Int, curvature: Double, lipschitz: Double = 1) {
        lipschitzProduct *= lipschitz
        terms.append(Term(layer: name, width: width, curvature: curvature, lipschitzProduct: lipschitzProduct))
    }

    /// Adds a non-linear layer with no finite curvature bound (`reason` says why, e.g.
    /// "max-pool at pool has unbounded curvature at ties"): a term of curvature +∞, and `name` in
    /// ``undefinedBy``. `lipschitz` enters the product as for ``addNonlinearity(_:width:curvature:lipschitz:)``.
    public mutating func addUnboundedNonlinearity(_ name: String, width: Int, reason: String, lipschitz: Double = 1) {
        addNonlinearity(name, width: width, curvature: .infinity, lipschitz: lipschitz)
        undefinedBy.append(name)
        undefinedReasons.append(reason)
    }

    /// Adds one layer (recursing into containers).
    public mutating func add(_ layer: any Layer, path: String) {
        if let bounded = layer as? any CurvatureBounded {
            bounded.accumulateCurvatureBound(into: &self, path: path)
        } else if layer.namedTensors.isEmpty {
            return   // parameter-free shaping layer: Lipschitz 1, no curvature
        } else {
            fatalError("CurvatureBound: layer \(path) (\(type(of: layer))) does not report its Lipschitz constant")
        }
    }

    /// Adds layers in forward order.
    public mutating func chain(_ layers: [(String, any Layer)], path: String) {
        for (name, layer) in layers { add(layer, path: path.isEmpty ? name : path + "." + name) }
    }

    /// A residual block `h·(F(x) + S(x))`: both branches start from the current product.
    public mutating func residual(main: [(String, any Layer)], shortcut: [(String, any Layer)], halve: Bool, path: String) {
        let start = lipschitzProduct
        chain(main, path: path)
        let mainLip = lipschitzProduct / start
        lipschitzProduct = start
        chain(shortcut, path: path)
        let shortcutLip = shortcut.isEmpty ? 1 : lipschitzProduct / start
        lipschitzProduct = start * (halve ? 0.5 : 1) * (mainLip + shortcutLip)
    }
}

/// A layer that knows its contribution to the curvature bound.
public protocol CurvatureBounded {
    func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String)
}
