/// The inner loops the float backward pass spends its time in, written with explicit
/// 8-lane SIMD (AVX on x86, 2×NEON on ARM) and wrapping index arithmetic: the compiler does not
/// vectorize the plain loops on its own (overflow checks on the index math stop it).
enum VectorLoops {
    /// `y[i] += a * x[i]` for `i` in `0..<count`.
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let va = SIMD8<Float>(repeating: a)
        var i = 0
        while i &+ 8 <= count {
            let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: vy + va * vx, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            y[i] += a * x[i]
            i &+= 1
        }
    }

    /// `y[i] = scale * (q[i] - zeroPoint)` for `count` int8 (`signed`) or uint8 values `q`.
    @inline(__always)
    static func dequantize(_ q: UnsafeRawPointer, signed: Bool, count: Int, scale: Float, zeroPoint: Int32,
                           into y: UnsafeMutablePointer<Float>) {
        let vs = SIMD8<Float>(repeating: scale), vz = SIMD8<Int32>(repeating: zeroPoint)
        var i = 0
        while i &+ 8 <= count {
            let v = signed
                ? SIMD8<Int32>(truncatingIfNeeded: q.loadUnaligned(fromByteOffset: i, as: SIMD8<Int8>.self))
                : SIMD8<Int32>(truncatingIfNeeded: q.loadUnaligned(fromByteOffset: i, as: SIMD8<UInt8>.self))
            UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD8<Float>(v &- vz) * vs, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            let v = signed ? Int32(q.load(fromByteOffset: i, as: Int8.self)) : Int32(q.load(fromByteOffset: i, as: UInt8.self))
            y[i] = scale * Float(v &- zeroPoint)
            i &+= 1
        }
    }

    /// `sum(a[i] * b[i])` for `i` in `0..<count`, in 8 lanes (summation order differs from a plain loop).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            sum += va * vb
            i &+= 8
        }
        var total = sum.sum()
        while i < count {
            total += a[i] * b[i]
            i &+= 1
        }
        return total
    }
}
