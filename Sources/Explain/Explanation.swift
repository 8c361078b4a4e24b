/// The result of one explanation: the map and what it is about.
public struct Explanation: Sendable {
    public var method: ExplanationMethod
    /// The class explained.
    public var targetClass: Int
    /// The target class's score (the logit: the input of a final SOFTMAX, else the output) on the input.
    public var score: Float
    /// The tensor explained, for layer-based methods (nil for input-resolution methods).
    public var layer: Int?
    public var layerName: String?
    /// The method's map at its native resolution (the layer's or the input's), after the method's
    /// own ReLU where it defines one, not normalised.
    public var map: Heatmap
    /// `map` min-max scaled to [0, 1], then bilinearly upsampled (half-pixel centres) to the model input size.
    public var inputMap: Heatmap

    public init(method: ExplanationMethod, targetClass: Int, score: Float, layer: Int?, layerName: String?,
                map: Heatmap, inputWidth: Int, inputHeight: Int) {
        self.method = method
        self.targetClass = targetClass
        self.score = score
        self.layer = layer
        self.layerName = layerName
        self.map = map
        inputMap = map.normalized().resized(width: inputWidth, height: inputHeight)
    }

    /// The normalised map at any frame size (e.g. the camera frame the input was cut from).
    public func map(width: Int, height: Int) -> Heatmap {
        map.normalized().resized(width: width, height: height)
    }

    /// Weak localization on ``inputMap`` (CAM paper: largest 8-connected component ≥ `threshold` × max).
    public func box(threshold: Float = 0.2) -> Heatmap.Box? { inputMap.box(threshold: threshold) }

    /// The peak of ``inputMap``.
    public var peak: Heatmap.Point? { inputMap.peak }
}
