/// Float32 scratch memory per tensor index, owned by an ``Explainer`` and reused across
/// explanations, so repeated explanations of one model allocate (almost) nothing.
final class FloatBuffers {
    private var storage: [UnsafeMutableBufferPointer<Float>?]

    init(tensorCount: Int) {
        storage = [UnsafeMutableBufferPointer<Float>?](repeating: nil, count: tensorCount)
    }

    deinit {
        for buffer in storage { buffer?.deallocate() }
    }

    /// Tensor `index`'s buffer of `count` elements (allocated on first use or when the size changes).
    func buffer(_ index: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        if let existing = storage[index], existing.count == count { return existing }
        storage[index]?.deallocate()
        let fresh = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        fresh.initialize(repeating: 0)
        storage[index] = fresh
        return fresh
    }

    /// Tensor `index`'s buffer zero-filled.
    func zeroed(_ index: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = buffer(index, count: count)
        buffer.update(repeating: 0)
        return buffer
    }

    /// The buffer if it exists.
    func existing(_ index: Int) -> UnsafeMutableBufferPointer<Float>? { storage[index] }
}
