// zlib for Swift. `inflateInit2` and `deflateInit2` are function-like macros (they pass the
// library version and `sizeof(z_stream)` to the real entry points), which Swift cannot import,
// so they are wrapped here as static inline functions.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H

#include <zlib.h>

static inline int czlib_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

static inline int czlib_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

#endif
