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

    /// Whether to compute the guaranteed bounds below (``compute(for:inputShape:certify:)``):
    /// exact upper bounds on operator norms cost an eigenvalue bound per layer.
    public private(set) var certify = false
    /// Guaranteed bounds for certificates, on the map from the input to the output of the layers
    /// accumulated so far (ℓ2 → ℓ2): its Lipschitz constant L and the bound K on its second
    /// derivative, ‖D²f(x)[u, u]‖₂ ≤ K‖u‖₂² for all x, u. They compose as
    ///   linear layer of norm ℓ:                 L ← ℓL,   K ← ℓK
    ///   element-wise φ, |φ′| ≤ a, |φ″| ≤ c:   L ← aL,   K ← cL² + aK
    /// (D²(φ∘g)[u,u] = φ″(g)⊙(Dg·u)² + φ′(g)⊙D²g[u,u], and ‖v⊙v‖₂ ≤ ‖v‖₂²), with the operator
    /// norms bounded from above (``OperatorNorm/matrixUpperBound(_:)``), not estimated. Unlike
    /// Theorem 1's sum, nothing is multiplied by a layer's width. Meaningful only with `certify`.
    public private(set) var certifiedLipschitz: Double = 1
    public private(set) var certifiedCurvature: Double = 0

    /// Whether every layer has a finite curvature bound (Theorem 1 applies).
    public var isDefined: Bool { undefinedBy.isEmpty }

    /// The bound Σᵢ nᵢ Cᵢ Πⱼ≤ᵢ Lipⱼ; +∞ when undefined.
    public var value: Double { isDefined ? terms.reduce(0) { $0 + $1.contribution } : .infinity }
    /// log of the bound (the paper plots it on a log scale).
    public var logValue: Double { value > 0 ? scalarLog(value) : -.infinity }

    public init() {}

    /// Computes the bound of `model` for inputs of one sample's shape `inputShape`. One forward
    /// pass of a zero input, in evaluation mode, records the layer widths (no data is used).
    /// With `certify`, the guaranteed ``certifiedLipschitz`` and ``certifiedCurvature`` of the
    /// logit map are computed too.
    public static func compute(for model: any Layer, inputShape: [Int], certify: Bool = false) -> CurvatureBound {
        _ = model.predict(Tensor.zeros([1] + inputShape))
        var bound = CurvatureBound()
        bound.certify = certify
        bound.add(model, path: "")
        return bound
    }

    /// Multiplies the running Lipschitz product by `lipschitz`; the guaranteed bounds by
    /// `upperBound` (evaluated only when certifying; `lipschitz` itself when it is exact).
    public mutating func scale(by lipschitz: Double, upperBound: @autoclosure () -> Double? = nil) {
        lipschitzProduct *= lipschitz
        if certify {
            let l = upperBound() ?? lipschitz
            certifiedLipschitz *= l
            certifiedCurvature *= l
        }
    }

    /// Adds a non-linear layer of `width` units and curvature bound `curvature`, with Lipschitz
    /// constant `lipschitz` (applied before the term, as in Πⱼ≤ᵢ). `secondDerivative` bounds
    /// |φ″| for the guaranteed bounds (default `curvature`).
    public mutating func addNonlinearity(_ name: String, width: Int, curvature: Double, lipschitz: Double = 1,
                                         secondDerivative: Double? = nil) {
        lipschitzProduct *= lipschitz
        terms.append(Term(layer: name, width: width, curvature: curvature, lipschitzProduct: lipschitzProduct))
        certifiedCurvature = (secondDerivative ?? curvature) * certifiedLipschitz * certifiedLipschitz + lipschitz * certifiedCurvature
        certifiedLipschitz *= lipschitz
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
    ///
    /// The guaranteed bounds of each branch are taken relative to the block input (L = 1, K = 0
    /// there), summed and halved with h, and composed with the input's:
    /// L ← L_block·L, K ← K_block·L² + L_block·K.
    public mutating func residual(main: [(String, any Layer)], shortcut: [(String, any Layer)], halve: Bool, path: String) {
        let start = lipschitzProduct
        let (inL, inK) = (certifiedLipschitz, certifiedCurvature)
        (certifiedLipschitz, certifiedCurvature) = (1, 0)
        chain(main, path: path)
        let mainLip = lipschitzProduct / start
        let (mainL, mainK) = (certifiedLipschitz, certifiedCurvature)
        (certifiedLipschitz, certifiedCurvature) = (1, 0)
        lipschitzProduct = start
        chain(shortcut, path: path)
        let shortcutLip = shortcut.isEmpty ? 1 : lipschitzProduct / start
        let h = halve ? 0.5 : 1.0
        lipschitzProduct = start * h * (mainLip + shortcutLip)
        let blockL = h * (mainL + certifiedLipschitz), blockK = h * (mainK + certifiedCurvature)
        certifiedCurvature = blockK * inL * inL + blockL * inK
        certifiedLipschitz = blockL * inL
    }
}

/// A layer that knows its contribution to the curvature bound.
public protocol CurvatureBounded {
    func accumulateCurvatureBound(into bound: inout CurvatureBound, path: String)
}
