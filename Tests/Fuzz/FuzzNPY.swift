// libFuzzer entry for the `.npy` reader. scripts/fuzz compiles this file together with
// Sources/NPY as one module, so the NPY types are used without an import.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let array = try? NPYArray(bytes: bytes) else { return 0 }
    // A successfully read array must be self-consistent: its data holds exactly its elements.
    if array.data.count != array.elementCount * array.dtype.itemSize {
        fatalError("NPYArray(bytes:) accepted \(array.data.count) data bytes for shape \(array.shape) of \(array.dtype)")
    }
    return 0
}
