/// The scalar reference kernels: one plain implementation per op, bit-exact with TFLite's
/// reference kernels (`BUILTIN_REF`). They are the oracle the fast kernels are tested
/// against, so they favour obviously-correct loops over speed.
///
/// Every kernel takes a parameter struct (everything computed at load time) and buffers
/// whose sizes the caller has checked against the parameters.
enum ReferenceKernels {}
