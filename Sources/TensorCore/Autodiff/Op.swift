/// The index of every primitive the autodiff engine records: one case per operation that
/// attaches a ``Node`` to its result, with its forward computation and the place of its backward
/// rule. Everything else differentiable (mean, variance, norms, log-sum-exp, softmax,
/// cross-entropy, linear layers, stacks, flattening…) is a composition of these.
///
/// Rules are written in tensor operations (some with a fused kernel for the unrecorded,
/// first-order pass), so every primitive is differentiable twice. A new primitive needs a case
/// here and an entry in the gradient-check catalogue (Tests/TensorCoreTests/OpCatalogue.swift);
/// `OpCoverageTests` fails, naming the case, when one is missing.
///
/// Piecewise-constant functions (comparisons, `sign`) are listed too, marked
/// ``isPiecewiseConstant``: they are never recorded, so their results carry no gradient (their
/// derivative is zero almost everywhere). Index-valued functions (`argmax`, the indices of
/// `max(axis:)`) return `[Int]` and are outside the graph altogether.
///
/// Each case: forward — where the value is computed; backward — where the rule lives.
public enum Op: String, CaseIterable, Sendable {
    // MARK: Elementwise binary (Ops/Arithmetic.swift; forward `applyBinary` through `broadcastKernel`)

    /// a + b. Backward: `+` in Ops/Arithmetic.swift (g summed to each operand's shape).
    case add
    /// a − b. Backward: `-` in Ops/Arithmetic.swift (g, −g).
    case subtract
    /// a ⊙ b. Backward: `*` in Ops/Arithmetic.swift (g·b, g·a).
    case multiply
    /// a / b. Backward: `/` in Ops/Arithmetic.swift (g/b, −g·y/b).
    case divide
    /// aᵇ, both tensors. Backward: `pow(_:_:)` (tensor, tensor) in Ops/Arithmetic.swift (g·b·aᵇ⁻¹, g·aᵇ·log a).
    case pow
    /// xᵖ, p a constant. Backward: `pow(_:_:)` (tensor, Float) in Ops/Arithmetic.swift (g·p·xᵖ⁻¹).
    case powConstant
    /// max(a, b). Backward: `maximum(_:_:)` in Ops/Arithmetic.swift (g to the larger; ties to a).
    case maximum
    /// min(a, b). Backward: `minimum(_:_:)` in Ops/Arithmetic.swift (g to the smaller; ties to a).
    case minimum
    /// −x (forward `applyUnary(.negate)`). Backward: prefix `-` in Ops/Arithmetic.swift (−g).
    case negate
    /// x clamped to [low, high] (a scalar loop). Backward: `clamp` in Ops/Arithmetic.swift (g where inside).
    case clamp

    // MARK: Elementwise unary (Ops/Unary.swift; forward `applyUnary` through `Tensor.unary`)

    /// eˣ. Backward: `exp` in Ops/Unary.swift (g·y).
    case exp
    /// log x. Backward: `log` in Ops/Unary.swift (g/x).
    case log
    /// log(1 + x). Backward: `log1p` in Ops/Unary.swift (g/(1 + x)).
    case log1p
    /// √x. Backward: `sqrt` in Ops/Unary.swift (g/(2y)).
    case sqrt
    /// |x|. Backward: `abs` in Ops/Unary.swift (g·sign x).
    case abs
    /// σ(x). Backward: `sigmoid` in Ops/Unary.swift (g·y(1 − y)).
    case sigmoid
    /// tanh x. Backward: `tanh` in Ops/Unary.swift (g·(1 − y²)).
    case tanh
    /// max(x, 0). Backward: `relu` in Ops/Unary.swift (g·[x > 0]).
    case relu
    /// x². Backward: `square` in Ops/Unary.swift (2gx).
    case square
    /// 1/x. Backward: `reciprocal` in Ops/Unary.swift (−g·y²).
    case reciprocal

    // MARK: Softplus family (Ops/Softplus.swift)

    /// σ(βx), forward `sigmoidScaled`. Backward: `scaledSigmoid` in Ops/Softplus.swift (fused `sigmoidSlopeProduct` unrecorded).
    case scaledSigmoid
    /// log(1 + e^{βx})/β, forward `softplusForward`. Backward: `softplus` in Ops/Softplus.swift (fused `softplusBackward*` unrecorded).
    case softplus
    /// softplus − log 2/β, forward `softplusForward(centered:)`. Backward: the same rule as ``softplus``.
    case centeredSoftplus

    // MARK: Selection, reductions, shapes, indexing

    /// c ? a : b (a scalar loop). Backward: `where` in Ops/Comparison.swift (g masked to each branch).
    case `where`
    /// Σ over axes, forward `reduceKernel(.sum)`. Backward: `sum(axes:keepDims:)` in Ops/Reduction.swift (g expanded back).
    case sum
    /// A new shape on shared storage. Backward: `reshaped(to:)` in Ops/ShapeOps.swift (g reshaped back).
    case reshape
    /// Axes reordered, forward `copyStrided`. Backward: `permuted(_:)` in Ops/ShapeOps.swift (g permuted back).
    case permute
    /// Broadcast materialised, forward `BroadcastLoop`. Backward: `expanded(to:)` in Ops/ShapeOps.swift (g summed back).
    case expand
    /// out[i] = x.flat[idx[i]]. Backward: `gathered(flatIndices:…)` in Ops/Indexing.swift (scatter-add of g).
    case gather
    /// Zeros with x[i] added at idx[i]. Backward: `scatterAdded(flatIndices:…)` in Ops/Indexing.swift (gather of g).
    case scatterAdd
    /// A range along one axis (copied). Backward: `sliced(axis:_:)` in Ops/Indexing.swift (g placed into zeros).
    case slice
    /// x written into zeros at an offset. Backward: `placed(into:axis:at:)` in Ops/Indexing.swift (the slice of g).
    case place
    /// Tensors joined along an axis. Backward: `concatenate(_:axis:)` in Ops/Indexing.swift (slices of g).
    case concatenate

    // MARK: Linear algebra and convolutions

    /// op(A)·op(B), forward `sgemm`. Backward: `matmulPrimitive` in Ops/MatMul.swift (products with flags).
    case matmul
    /// conv(x, w), forward `conv2dForward`. Backward: `conv2dPrimitive` in Ops/Convolution.swift (convᵀ and ∇w).
    case conv2d
    /// convᵀ(y, w), forward `conv2dBackwardInput`. Backward: `conv2dInputGradPrimitive` in Ops/Convolution.swift (conv and ∇w).
    case convTranspose2d
    /// ∇w(x, y), forward `conv2dBackwardWeight`. Backward: `conv2dWeightGradPrimitive` in Ops/Convolution.swift (convᵀ and conv).
    case conv2dWeightGrad
    /// scale·(a + b), same shapes, forward `linearCombination`. Backward: `scaledSum` in Ops/ScaledSum.swift.
    case scaledSum
    /// softplus_β(scale·(a + b)) (centered or not), same shapes, forward `scaledSumSoftplusForward`. Backward: `scaledSumSoftplus` in Ops/ScaledSumSoftplus.swift (fused `softplusBackward*` with `gradScale` unrecorded).
    case scaledSumSoftplus
    /// w/⟨w, m⟩, forward `innerProduct` + `applyBinary(.divide)`. Backward: `dividedByInnerProduct` in Ops/InnerProductNormalization.swift.
    case dividedByInnerProduct
    /// conv(x; w/⟨u, conv(v; w)⟩), (u, v) constant, forward `applyBinary(.divide)` + `conv2dForward`. Backward: `spectrallyNormalizedConv2d` in Ops/SpectrallyNormalizedConvolution.swift (no M stored on first-order passes).
    case spectrallyNormalizedConv2d
    /// σ̂ = uᵀWv (u, v constant), forward `bilinearForm`. Backward: `spectralNormSigma` in Ops/SpectralNormSigma.swift (g·u vᵀ).
    case spectralNormSigma

    // MARK: Pooling and normalisation

    /// 2×2 stride-2 max pooling, forward `maxPool2x2` (other windows are a ``gather``). Backward: `maxPool2x2` in Ops/Pooling.swift (scatter-add).
    case maxPool2d
    /// Average pooling, forward `avgPool2x2` or a loop. Backward: `recordAvgPool` in Ops/Pooling.swift (``avgPool2dBackward``).
    case avgPool2d
    /// The adjoint of average pooling, forward `avgPool2x2Adjoint` or a loop. Backward: `recordAvgPool` in Ops/Pooling.swift (``avgPool2d``).
    case avgPool2dBackward
    /// Training batch norm, forward `batchNormStatistics` + `channelAffine`. Backward: `BatchNormOp.training` in Ops/Normalization.swift.
    case batchNorm
    /// ∂x of training batch norm, forward `batchNormBackward`. Backward: `BatchNormOp.inputGradient` in Ops/Normalization.swift.
    case batchNormInputGradient
    /// Evaluation batch norm (an affine map), forward `channelAffine`. Backward: `BatchNormOp.evaluation` in Ops/Normalization.swift.
    case batchNormEval
    /// Training batch norm followed by softplus (centered or not), forward `batchNormStatistics` +
    /// `batchNormSoftplusForward`. Backward: `batchNormSoftplus` in Ops/BatchNormSoftplus.swift
    /// (fused `batchNormSoftplusBackward` unrecorded; the two ops' rules when recorded).
    case batchNormSoftplus

    // MARK: Data parallelism

    /// Σ over replicas, forward `ReplicaGroup.allReduceSum`. Backward: `sumAcrossReplicas` in Distributed/DataParallel.swift (itself).
    case sumAcrossReplicas

    // MARK: Piecewise constant (never recorded; zero gradient almost everywhere)

    /// [a > b] (Ops/Comparison.swift). No rule: not recorded.
    case greater
    /// [a ≥ b] (Ops/Comparison.swift). No rule: not recorded.
    case greaterEqual
    /// [a < b] (Ops/Comparison.swift). No rule: not recorded.
    case less
    /// [a ≤ b] (Ops/Comparison.swift). No rule: not recorded.
    case lessEqual
    /// [a = b] (Ops/Comparison.swift). No rule: not recorded.
    case equal
    /// sign x ∈ {−1, 0, 1}, forward `applyUnary(.sign)` (Ops/Unary.swift). No rule: not recorded.
    case sign

    /// Whether the function is piecewise constant: never recorded, so its result is a constant
    /// of the graph and no gradient flows through it.
    public var isPiecewiseConstant: Bool {
        switch self {
        case .greater, .greaterEqual, .less, .lessEqual, .equal, .sign: true
        default: false
        }
    }
}

/// The name a ``Node`` carries: a primitive of ``Op``, or a user-defined operation recorded with
/// ``Tensor/differentiable(_:op:inputs:rule:)`` (PyTorch's `autograd.Function`).
public enum OpName: Hashable, Sendable, CustomStringConvertible {
    case primitive(Op)
    case custom(String)

    public var description: String {
        switch self {
        case .primitive(let op): op.rawValue
        case .custom(let name): name
        }
    }
}
