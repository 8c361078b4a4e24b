/// DCT-domain downscaling applied while decoding: libjpeg computes a reduced inverse DCT, so a
/// 1/4-scaled decode costs a fraction of a full decode plus resize.
///
/// Output size is `ceil(width / denominator) x ceil(height / denominator)` (libjpeg's rule).
public enum JPEGScale: Int, Sendable, CaseIterable, CustomStringConvertible {
    case full = 1
    case half = 2
    case quarter = 4
    case eighth = 8

    /// The `scale_denom` libjpeg receives (`scale_num` is 1).
    public var denominator: Int { rawValue }

    /// The decoded size of a `width` x `height` JPEG at this scale.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let d = denominator
        return ((width + d - 1) / d, (height + d - 1) / d)
    }

    /// The strongest reduction whose output still has both sides ≥ the minimum, or `.full` when
    /// even the full image is smaller. E.g. 1280x720 with minimum 224x224 gives `.half` (640x360),
    /// since `.quarter` (320x180) would be too short.
    public static func largestReduction(width: Int, height: Int,
                                        minimumWidth: Int, minimumHeight: Int) -> JPEGScale {
        for scale in [JPEGScale.eighth, .quarter, .half] {
            let size = scale.outputSize(width: width, height: height)
            if size.width >= minimumWidth && size.height >= minimumHeight { return scale }
        }
        return .full
    }

    public var description: String { denominator == 1 ? "1/1" : "1/\(denominator)" }
}
