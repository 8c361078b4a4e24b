// swift-tools-version: 6.1
import PackageDescription

// Release builds of the int8 kernels need AVX2 on x86_64: without it the SIMD code falls
// back to SSE2 and runs several times slower. ARM builds use the baseline (NEON is always there).
#if arch(x86_64)
let simdFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mbmi2"])]
#else
let simdFlags: [SwiftSetting] = []
#endif

// The kernels are the hot path: they are compiled optimized even in debug builds, so that a
// debug build (and the test suite, which runs whole models) takes seconds per inference, not minutes.
//
// `-enable-single-module-llvm-emission`: SwiftPM compiles a module with `-num-threads`, which
// splits its LLVM IR into one LLVM module per source file. A generic stdlib helper specialized
// for the kernels (`loadUnaligned`, `lowHalf`, `storeBytes`, `min` on SIMD types) is emitted
// only into the file that first uses it, so LLVM cannot inline it into a kernel in another
// file: adding one kernel file whose name sorted earlier left 467 calls in the depthwise loop
// and made it 6.3x slower. One LLVM module makes every such body visible to every kernel
// (the module then generates code on one thread). scripts/check-kernel-calls guards it.
let kernelSettings: [SwiftSetting] = simdFlags + [
    .unsafeFlags(["-Xfrontend", "-enable-single-module-llvm-emission"]),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

// InferenceVNNI holds an AVX-512 VNNI build of the GEMM microkernel; Inference calls it only
// when cpuid reports those instructions (CCPUFeatures), so the package still runs on any AVX2 CPU.
#if arch(x86_64)
let vnniSettings: [SwiftSetting] = kernelSettings + [.unsafeFlags([
    "-Xcc", "-mavx512f", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512vnni",
])]
#else
let vnniSettings: [SwiftSetting] = kernelSettings
#endif

let package = Package(
    name: "EdgeCAM",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "edgecam", targets: ["EdgeCAMCLI"]),
        .executable(name: "edgecamd", targets: ["edgecamd"]),
        .library(name: "Inference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Int8 engine: TFLite reader, execution plan, kernels. No package dependencies, no I/O.
        .target(name: "Inference", dependencies: ["InferenceVNNI"], swiftSettings: kernelSettings),
        // The AVX-512 VNNI GEMM microkernel (x86_64 only; empty elsewhere) and its cpuid test.
        .target(name: "InferenceVNNI", dependencies: ["CCPUFeatures"], swiftSettings: vnniSettings),
        .target(name: "CCPUFeatures"),
        // Explanations (CAM, Grad-CAM(++), guided backprop, occlusion) on the int8 engine. No I/O.
        .target(name: "Explain", dependencies: ["Inference"], swiftSettings: kernelSettings),
        .testTarget(name: "ExplainTests", dependencies: ["Explain", "Inference"], swiftSettings: kernelSettings),
        // NumPy .npy files: the exchange format for tensors and heatmaps.
        .target(name: "NPY"),
        // libjpeg(-turbo) shim: setjmp error manager, so corrupt frames are errors, not exit().
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // RGB images: JPEG decode/encode, YUYV, resize, crop, quantize, colormaps, overlay.
        .target(name: "Imaging", dependencies: ["CJPEG"], swiftSettings: simdFlags),
        // Prints decode + resize + quantize timings per camera frame (scripts/bench-decode).
        .executableTarget(name: "ImagingBenchmark", dependencies: ["Imaging"]),
        // Times the int8 interpreter on a model and counts heap allocations per invocation.
        .executableTarget(name: "InferenceBenchmark", dependencies: ["Inference", "CMallocCounter"]),
        // malloc/free counters for the allocation check (benchmark only, never linked into the library).
        .target(name: "CMallocCounter"),
        .executableTarget(
            name: "EdgeCAMCLI",
            dependencies: [
                "Inference", "NPY", "Control", "Explain", "Imaging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "NPY", "InferenceBenchmark"]),
        .testTarget(name: "NPYTests", dependencies: ["NPY"]),
        .testTarget(name: "CLITests", dependencies: ["EdgeCAMCLI", "NPY", "Imaging", "Inference"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        // SQLite (WAL) log of detections, heatmaps and events: schema, retention, queries.
        .target(name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Prints Store insert throughput and query latency over 1 M rows.
        .executableTarget(name: "StoreBenchmark", dependencies: ["Store"]),
        // Test helper: inserts until SIGKILLed, acknowledging each commit (StoreTests' crash test).
        .executableTarget(name: "StoreCrashWriter", dependencies: ["Store"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        // A pthread mutex around a value (Mutex's shape) that ThreadSanitizer can see on Linux.
        .target(name: "Locking"),
        .testTarget(name: "LockingTests", dependencies: ["Locking"]),
        // Unix-socket control protocol (newline-delimited JSON): types, server, client, peer auth.
        .target(name: "Control", dependencies: ["Locking"], exclude: ["PROTOCOL.md"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Locking", "SanitizerSupport"]),
        // Test support: which sanitizer the tests run under and how their bounds scale with it.
        .target(name: "SanitizerSupport", path: "Tests/Support/SanitizerSupport"),
        // videodev2.h constants and non-variadic libv4l2 wrappers for Swift.
        .target(name: "CV4L2", linkerSettings: [.linkedLibrary("v4l2")]),
        // Frame sources: V4L2 camera (mmap streaming, reconnects), JPEG-directory and MJPEG replay.
        .target(name: "Capture", dependencies: ["CV4L2", "Locking"]),
        // Prints frames/states of a source as JSON lines; the Capture tests run it under the fake camera.
        .executableTarget(name: "capture-probe", dependencies: ["Capture"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "capture-probe"]),
        // The edgecamd pipeline: capture → preprocess → infer → policy → explain → store → events,
        // its configuration (TOML subset), and the control commands it answers.
        .target(
            name: "Daemon",
            dependencies: [
                "Capture", "Imaging", "Inference", "Explain", "Store", "Control", "Locking",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The edgecamd process: flags, signals, sd_notify, watchdog, logging.
        .executableTarget(
            name: "edgecamd",
            dependencies: [
                "Daemon", "Control", "Locking",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Control", "Store", "edgecamd", "EdgeCAMCLI", "Locking", "SanitizerSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
