#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A learning rate per epoch.
///
/// `learningRate(epoch: e)` is the rate to use throughout zero-based epoch `e`: the value a
/// PyTorch scheduler gives after `e` calls of `scheduler.step()` made once at the end of each
/// epoch (closed forms). The trainer sets it with
/// ``Optimizer/updateLearningRate(from:epoch:)`` before each epoch.
public protocol LearningRateSchedule {
    func learningRate(epoch: Int) -> Float
}

/// The same rate every epoch.
public struct ConstantSchedule: LearningRateSchedule, Sendable {
    public let base: Float
    public init(base: Float) { self.base = base }
    public func learningRate(epoch: Int) -> Float {
        precondition(epoch >= 0, "LearningRateSchedule: epoch must be non-negative")
        return base
    }
}

/// `base · γ^k` where k is the number of milestones ≤ epoch (PyTorch `MultiStepLR`; a milestone
/// listed twice counts twice).
public struct MultiStepSchedule: LearningRateSchedule, Sendable {
    public let base: Float
    public let milestones: [Int]
    public let gamma: Float

    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        precondition(milestones.allSatisfy { $0 >= 0 }, "MultiStepSchedule: milestones must be non-negative")
        self.base = base
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }

    /// The paper's schedule (SPEC T8): ×0.1 at 75 % and 87.5 % of `epochs`, the milestones
    /// rounded down as Python's `int(0.75 * epochs)` does (8 epochs: 6, 7; 100 epochs: 75, 87;
    /// 200 epochs: 150, 175), but never before epoch 1: rounding down would put both milestones
    /// on epoch 0 of a 1-epoch run and train all of it at base × 0.01. So a 1-epoch run keeps
    /// `base` throughout, 2 and 3 epochs drop ×0.01 for the last epoch, 4 epochs ×0.01 at epoch 3,
    /// 5 epochs ×0.1 at 3 and ×0.01 at 4.
    public static func paper(base: Float = 0.1, epochs: Int) -> MultiStepSchedule {
        precondition(epochs > 0, "MultiStepSchedule.paper: epochs must be positive")
        return MultiStepSchedule(base: base, milestones: [max(1, epochs * 3 / 4), max(1, epochs * 7 / 8)], gamma: 0.1)
    }

    public func learningRate(epoch: Int) -> Float {
        precondition(epoch >= 0, "LearningRateSchedule: epoch must be non-negative")
        let k = milestones.reduce(0) { $0 + ($1 <= epoch ? 1 : 0) }
        return Float(Double(base) * pow(Double(gamma), Double(k)))
    }
}

/// PyTorch `CosineAnnealingLR` with `T_max = epochs`:
/// `minimum + (base − minimum)·(1 + cos(π·epoch/epochs))/2`. Equals `base` at epoch 0 and
/// `minimum` at `epoch == epochs` (past that the closed form rises again, as PyTorch's does).
public struct CosineSchedule: LearningRateSchedule, Sendable {
    public let base: Float
    public let epochs: Int
    public let minimum: Float

    public init(base: Float, epochs: Int, minimum: Float = 0) {
        precondition(epochs > 0, "CosineSchedule: epochs must be positive")
        (self.base, self.epochs, self.minimum) = (base, epochs, minimum)
    }

    public func learningRate(epoch: Int) -> Float {
        precondition(epoch >= 0, "LearningRateSchedule: epoch must be non-negative")
        let b = Double(base), m = Double(minimum)
        return Float(m + (b - m) * (1 + cos(Double.pi * Double(epoch) / Double(epochs))) / 2)
    }
}

/// Linear warm-up in front of another schedule: the inner rate times
/// `startFactor + (1 − startFactor)·epoch/warmupEpochs` for `epoch < warmupEpochs`, the inner
/// rate afterwards (PyTorch `LinearLR(start_factor, total_iters=warmupEpochs)` chained
/// multiplicatively with the inner schedule's closed form).
public struct WarmupSchedule<Inner: LearningRateSchedule>: LearningRateSchedule {
    public let inner: Inner
    public let warmupEpochs: Int
    public let startFactor: Float

    public init(_ inner: Inner, warmupEpochs: Int, startFactor: Float = 0.1) {
        precondition(warmupEpochs >= 0, "WarmupSchedule: warm-up epochs must be non-negative")
        precondition(startFactor > 0 && startFactor <= 1, "WarmupSchedule: start factor must be in (0, 1]")
        (self.inner, self.warmupEpochs, self.startFactor) = (inner, warmupEpochs, startFactor)
    }

    public func learningRate(epoch: Int) -> Float {
        let rate = inner.learningRate(epoch: epoch)
        guard epoch < warmupEpochs else { return rate }
        let s = Double(startFactor)
        return Float(Double(rate) * (s + (1 - s) * Double(epoch) / Double(warmupEpochs)))
    }
}

extension WarmupSchedule: Sendable where Inner: Sendable {}

extension LearningRateSchedule {
    /// This schedule with a linear warm-up over its first `epochs` epochs.
    public func withWarmup(epochs: Int, startFactor: Float = 0.1) -> WarmupSchedule<Self> {
        WarmupSchedule(self, warmupEpochs: epochs, startFactor: startFactor)
    }
}
