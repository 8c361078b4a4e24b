// libFuzzer entry for the TFLite reader, execution plan, operator preparation and kernels.
// scripts/fuzz compiles this file together with Sources/Inference as one module, so the
// Inference types are used without an import.

/// Hostile but valid models may ask for a lot of work; above this many multiply-accumulates
/// the model is not invoked, so one input can't stall the fuzzer (the arena limit bounds memory).
private let maximumMultiplyAccumulates = 50_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let model = try? Model(bytes: bytes) else { return 0 }
    let options = InterpreterOptions(maximumArenaBytes: 64 << 20, threads: 1)
    guard let interpreter = try? Interpreter(model: model, options: options) else { return 0 }
    guard interpreter.multiplyAccumulates <= maximumMultiplyAccumulates else { return 0 }
    // The arena starts zeroed, so this runs every kernel once on all-zero inputs.
    interpreter.invoke()
    return 0
}
