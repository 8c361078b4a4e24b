#ifndef EDGECAM_CPU_FEATURES_H
#define EDGECAM_CPU_FEATURES_H

/// 1 when the CPU and the OS (saved ZMM state) support AVX-512 F, BW, VL and VNNI, the
/// instructions of the InferenceVNNI kernels; 0 otherwise and on non-x86 machines.
/// `__builtin_cpu_supports` reads cpuid once (and checks XCR0) in the compiler runtime.
int edgecam_cpu_supports_avx512_vnni(void);

#endif
