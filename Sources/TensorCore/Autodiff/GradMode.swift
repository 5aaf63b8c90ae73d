/// Whether operations record their history for autodiff.
///
/// Recording is on by default. It is a task-local value (Swift 6 forbids global mutable
/// state), so a no-recording scope affects only the work done inside it, on this task.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` with gradient recording off: results have no history and do not require
/// gradients. Use for evaluation, parameter updates and buffer maintenance.
@inlinable
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Runs `body` with gradient recording on (for example to record a double-backprop graph
/// inside a caller's no-recording scope).
@inlinable
public func withGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(true, operation: body)
}
