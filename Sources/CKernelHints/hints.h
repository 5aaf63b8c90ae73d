// Cache hints for the CPU kernels. Swift has no prefetch instruction of its own; these static
// inline wrappers of the compiler builtin are inlined into the Swift callers.
#ifndef CKERNELHINTS_HINTS_H
#define CKERNELHINTS_HINTS_H

/// Asks the CPU to bring the cache line holding `address` into L1 for writing (it is about to
/// be read and written). A hint only: no fault, no effect on results.
static inline void lcnn_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Asks the CPU to bring the cache line holding `address` into L1 for reading. A hint only.
static inline void lcnn_prefetch_for_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
