// Lane-type conversions of SIMD vectors, written lane by lane.
//
// Why not `SIMD16<Int16>(truncatingIfNeeded:)`: the stdlib's generic conversion initializers
// can stay out-of-line calls that convert element by element (about 10x slower in the GEMM),
// while a per-lane initializer of known lanes always becomes one `vpmovsx*` / `sxtl` / `xtn`.
// Sign extension is exact; the narrowing functions keep the low bits and are only used on
// values already clamped to the narrow type's range.

/// Sign-extends 16 int8 lanes to int16.
@inline(__always)
func widenedToInt16(_ v: SIMD16<Int8>) -> SIMD16<Int16> {
    SIMD16<Int16>(
        Int16(v[0]), Int16(v[1]), Int16(v[2]), Int16(v[3]), Int16(v[4]), Int16(v[5]), Int16(v[6]), Int16(v[7]),
        Int16(v[8]), Int16(v[9]), Int16(v[10]), Int16(v[11]), Int16(v[12]), Int16(v[13]), Int16(v[14]), Int16(v[15]))
}
/// Sign-extends 8 int8 lanes to int16.
@inline(__always)
func widenedToInt16(_ v: SIMD8<Int8>) -> SIMD8<Int16> {
    SIMD8<Int16>(Int16(v[0]), Int16(v[1]), Int16(v[2]), Int16(v[3]), Int16(v[4]), Int16(v[5]), Int16(v[6]), Int16(v[7]))
}
/// Sign-extends 16 int16 lanes to int32.
@inline(__always)
func widenedToInt32(_ v: SIMD16<Int16>) -> SIMD16<Int32> {
    SIMD16<Int32>(
        Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]), Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]),
        Int32(v[8]), Int32(v[9]), Int32(v[10]), Int32(v[11]), Int32(v[12]), Int32(v[13]), Int32(v[14]), Int32(v[15]))
}
/// Sign-extends 8 int16 lanes to int32.
@inline(__always)
func widenedToInt32(_ v: SIMD8<Int16>) -> SIMD8<Int32> {
    SIMD8<Int32>(Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]), Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]))
}
/// Sign-extends 32 int16 lanes to int32.
@inline(__always)
func widenedToInt32(_ v: SIMD32<Int16>) -> SIMD32<Int32> {
    SIMD32<Int32>(
        Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]), Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]),
        Int32(v[8]), Int32(v[9]), Int32(v[10]), Int32(v[11]), Int32(v[12]), Int32(v[13]), Int32(v[14]), Int32(v[15]),
        Int32(v[16]), Int32(v[17]), Int32(v[18]), Int32(v[19]), Int32(v[20]), Int32(v[21]), Int32(v[22]), Int32(v[23]),
        Int32(v[24]), Int32(v[25]), Int32(v[26]), Int32(v[27]), Int32(v[28]), Int32(v[29]), Int32(v[30]), Int32(v[31]))
}
/// Sign-extends 16 int8 lanes to int32.
@inline(__always)
func widenedToInt32(_ v: SIMD16<Int8>) -> SIMD16<Int32> {
    SIMD16<Int32>(
        Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]), Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]),
        Int32(v[8]), Int32(v[9]), Int32(v[10]), Int32(v[11]), Int32(v[12]), Int32(v[13]), Int32(v[14]), Int32(v[15]))
}
/// Sign-extends 8 int32 lanes to int64.
@inline(__always)
func widenedToInt64(_ v: SIMD8<Int32>) -> SIMD8<Int64> {
    SIMD8<Int64>(
        Int64(v[0]), Int64(v[1]), Int64(v[2]), Int64(v[3]), Int64(v[4]), Int64(v[5]), Int64(v[6]), Int64(v[7]))
}
/// Keeps the low 32 bits of 8 int64 lanes.
@inline(__always)
func narrowedToInt32(_ v: SIMD8<Int64>) -> SIMD8<Int32> {
    SIMD8<Int32>(
        Int32(truncatingIfNeeded: v[0]), Int32(truncatingIfNeeded: v[1]), Int32(truncatingIfNeeded: v[2]), Int32(truncatingIfNeeded: v[3]),
        Int32(truncatingIfNeeded: v[4]), Int32(truncatingIfNeeded: v[5]), Int32(truncatingIfNeeded: v[6]), Int32(truncatingIfNeeded: v[7]))
}
/// Keeps the low 8 bits of 16 int32 lanes (callers clamp first).
@inline(__always)
func narrowedToInt8(_ v: SIMD16<Int32>) -> SIMD16<Int8> {
    SIMD16<Int8>(
        Int8(truncatingIfNeeded: v[0]), Int8(truncatingIfNeeded: v[1]), Int8(truncatingIfNeeded: v[2]), Int8(truncatingIfNeeded: v[3]),
        Int8(truncatingIfNeeded: v[4]), Int8(truncatingIfNeeded: v[5]), Int8(truncatingIfNeeded: v[6]), Int8(truncatingIfNeeded: v[7]),
        Int8(truncatingIfNeeded: v[8]), Int8(truncatingIfNeeded: v[9]), Int8(truncatingIfNeeded: v[10]), Int8(truncatingIfNeeded: v[11]),
        Int8(truncatingIfNeeded: v[12]), Int8(truncatingIfNeeded: v[13]), Int8(truncatingIfNeeded: v[14]), Int8(truncatingIfNeeded: v[15]))
}

/// Lane-wise minimum (one `vpminsd` / `smin`; the stdlib's `pointwiseMin` can stay a call).
@inline(__always)
func laneMinimum(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
    SIMD16<Int32>(
        Swift.min(a[0], b[0]), Swift.min(a[1], b[1]), Swift.min(a[2], b[2]), Swift.min(a[3], b[3]),
        Swift.min(a[4], b[4]), Swift.min(a[5], b[5]), Swift.min(a[6], b[6]), Swift.min(a[7], b[7]),
        Swift.min(a[8], b[8]), Swift.min(a[9], b[9]), Swift.min(a[10], b[10]), Swift.min(a[11], b[11]),
        Swift.min(a[12], b[12]), Swift.min(a[13], b[13]), Swift.min(a[14], b[14]), Swift.min(a[15], b[15]))
}

/// Lane-wise maximum.
@inline(__always)
func laneMaximum(_ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
    SIMD16<Int32>(
        Swift.max(a[0], b[0]), Swift.max(a[1], b[1]), Swift.max(a[2], b[2]), Swift.max(a[3], b[3]),
        Swift.max(a[4], b[4]), Swift.max(a[5], b[5]), Swift.max(a[6], b[6]), Swift.max(a[7], b[7]),
        Swift.max(a[8], b[8]), Swift.max(a[9], b[9]), Swift.max(a[10], b[10]), Swift.max(a[11], b[11]),
        Swift.max(a[12], b[12]), Swift.max(a[13], b[13]), Swift.max(a[14], b[14]), Swift.max(a[15], b[15]))
}

/// Sums of adjacent lane pairs, `v[0] + v[1], v[2] + v[3], …` (wrapping). Applied to the
/// product of two sign-extended int16 vectors this is one `vpmaddwd` per 8 lanes; written
/// lane by lane because the stdlib's `evenHalf`/`oddHalf` may stay out-of-line calls.
@inline(__always)
func pairwiseSums(_ v: SIMD32<Int32>) -> SIMD16<Int32> {
    SIMD16<Int32>(
        v[0] &+ v[1], v[2] &+ v[3], v[4] &+ v[5], v[6] &+ v[7],
        v[8] &+ v[9], v[10] &+ v[11], v[12] &+ v[13], v[14] &+ v[15],
        v[16] &+ v[17], v[18] &+ v[19], v[20] &+ v[21], v[22] &+ v[23],
        v[24] &+ v[25], v[26] &+ v[27], v[28] &+ v[29], v[30] &+ v[31])
}

/// ``pairwiseSums(_:)`` of 16 lanes: one `vpmaddwd` on sign-extended int16 products.
@inline(__always)
func pairwiseSums(_ v: SIMD16<Int32>) -> SIMD8<Int32> {
    SIMD8<Int32>(v[0] &+ v[1], v[2] &+ v[3], v[4] &+ v[5], v[6] &+ v[7],
                 v[8] &+ v[9], v[10] &+ v[11], v[12] &+ v[13], v[14] &+ v[15])
}
