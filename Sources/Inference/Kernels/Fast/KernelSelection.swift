/// Which kernels prepared operators run.
public enum KernelSelection: Sendable, Equatable {
    /// SIMD kernels where an op has one for its configuration (CONV_2D without groups,
    /// DEPTHWISE_CONV_2D with depth multiplier 1, FULLY_CONNECTED with symmetric weights,
    /// ADD/SUB/MUL of equal shapes as lookup tables), the reference elsewhere.
    /// Bit-identical with ``reference``.
    case fast
    /// The scalar reference kernels everywhere: the oracle, for tests and debugging.
    case reference
}
