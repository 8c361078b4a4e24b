extension RGBImage {
    /// Converts a packed YUYV (YUY2, V4L2 `V4L2_PIX_FMT_YUYV`) frame to RGB.
    ///
    /// Each 4 bytes `Y0 U Y1 V` hold two pixels sharing one chroma sample. Colours are BT.601
    /// limited range (Y 16...235, Cb/Cr 16...240), what V4L2 cameras deliver, converted with the
    /// usual 8-bit integer approximation (the one in Microsoft's "YUV to RGB888" note):
    ///
    ///     C = Y - 16, D = U - 128, E = V - 128
    ///     R = clamp((298 C + 409 E + 128) >> 8)
    ///     G = clamp((298 C - 100 D - 208 E + 128) >> 8)
    ///     B = clamp((298 C + 516 D + 128) >> 8)
    ///
    /// (>> is an arithmetic shift, i.e. floor division by 256; clamp to 0...255.)
    ///
    /// - Parameters:
    ///   - bytesPerLine: the stride of a row; V4L2 may pad rows. Defaults to `width * 2`.
    /// - Throws: `ImageError.oddYUYVWidth` for odd widths, `.byteCountMismatch` if the buffer
    ///   is shorter than `bytesPerLine * (height - 1) + width * 2`.
    public init(yuyv: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int? = nil) throws(ImageError) {
        try Self.validate(width: width, height: height)
        guard width % 2 == 0 else { throw .oddYUYVWidth(width) }
        let stride = bytesPerLine ?? width * 2
        guard stride >= width * 2 else {
            throw .invalidParameter("bytesPerLine \(stride) < 2 * width \(width * 2)")
        }
        let (rows, overflow) = stride.multipliedReportingOverflow(by: height - 1)
        let needed = overflow ? Int.max : rows.addingReportingOverflow(width * 2).partialValue
        guard !overflow, needed >= 0, yuyv.count >= needed, let source = yuyv.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .byteCountMismatch(expected: needed, actual: yuyv.count)
        }
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { out, count in
            guard let dst = out.baseAddress else { return }
            for y in 0 ..< height {
                let row = source + y * stride
                let outRow = dst + y * width * 3
                for pair in 0 ..< width / 2 {
                    let s = row + pair * 4
                    let d = Int32(s[1]) - 128
                    let e = Int32(s[3]) - 128
                    let rTerm = 409 * e + 128
                    let gTerm = -100 * d - 208 * e + 128
                    let bTerm = 516 * d + 128
                    let c0 = 298 * (Int32(s[0]) - 16)
                    let c1 = 298 * (Int32(s[2]) - 16)
                    let o = outRow + pair * 6
                    o[0] = clampToByte((c0 + rTerm) >> 8)
                    o[1] = clampToByte((c0 + gTerm) >> 8)
                    o[2] = clampToByte((c0 + bTerm) >> 8)
                    o[3] = clampToByte((c1 + rTerm) >> 8)
                    o[4] = clampToByte((c1 + gTerm) >> 8)
                    o[5] = clampToByte((c1 + bTerm) >> 8)
                }
            }
            count = width * height * 3
        }
        self.init(validatedWidth: width, height: height, bytes: pixels)
    }

    /// `init(yuyv:width:height:bytesPerLine:)` for an array.
    public init(yuyv: [UInt8], width: Int, height: Int, bytesPerLine: Int? = nil) throws(ImageError) {
        let result: Result<RGBImage, ImageError> = yuyv.withUnsafeBytes { raw in
            do throws(ImageError) {
                return .success(try RGBImage(yuyv: raw, width: width, height: height, bytesPerLine: bytesPerLine))
            } catch { return .failure(error) }
        }
        self = try result.get()
    }
}

@inline(__always)
func clampToByte(_ v: Int32) -> UInt8 {
    UInt8(truncatingIfNeeded: min(max(v, 0), 255))
}
