import Foundation

/// Per-stage latencies of the frame that produced a detection, in milliseconds; `nil` when a
/// stage did not run (e.g. `explain` when the detection was not explained).
/// JSON keys: `capture`, `decode`, `infer`, `explain`, `total`.
public struct StageLatencies: Sendable, Codable, Equatable, Hashable {
    enum CodingKeys: String, CodingKey { case capture, decode, infer, explain, total }

    public var capture: Double?
    public var decode: Double?
    public var infer: Double?
    public var explain: Double?
    public var total: Double?

    public init(
        capture: Double? = nil, decode: Double? = nil, infer: Double? = nil,
        explain: Double? = nil, total: Double? = nil
    ) {
        self.capture = capture
        self.decode = decode
        self.infer = infer
        self.explain = explain
        self.total = total
    }

    // Explicit `null`s for stages that did not run, like `Detection`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(capture, forKey: .capture)
        try container.encode(decode, forKey: .decode)
        try container.encode(infer, forKey: .infer)
        try container.encode(explain, forKey: .explain)
        try container.encode(total, forKey: .total)
    }
}

/// A detection the daemon wants to log (no id yet), optionally with its heatmap.
public struct NewDetection: Sendable, Equatable {
    /// Frame time, Unix milliseconds.
    public var time: Int64
    public var frameSequence: Int64
    /// The `ModelRecord.id` returned by `DetectionStore.register(model:)`, if any.
    public var modelID: Int64?
    public var classIndex: Int
    public var label: String
    public var score: Double
    public var box: Detection.Box?
    public var peak: Detection.Point?
    public var latencies: StageLatencies
    /// Explanation method (`gradcam`, `cam`, ...), `nil` when not explained.
    public var method: String?
    /// Target layer of the explanation.
    public var layer: String?
    public var heatmap: NewHeatmap?

    public init(
        time: Int64, frameSequence: Int64, modelID: Int64? = nil, classIndex: Int, label: String,
        score: Double, box: Detection.Box? = nil, peak: Detection.Point? = nil, latencies: StageLatencies = .init(),
        method: String? = nil, layer: String? = nil, heatmap: NewHeatmap? = nil
    ) {
        self.time = time
        self.frameSequence = frameSequence
        self.modelID = modelID
        self.classIndex = classIndex
        self.label = label
        self.score = score
        self.box = box
        self.peak = peak
        self.latencies = latencies
        self.method = method
        self.layer = layer
        self.heatmap = heatmap
    }

    func validate() throws(StoreError) {
        guard time >= 0 else { throw .invalidArgument("detection time \(time) is before 1970") }
        guard classIndex >= 0 else { throw .invalidArgument("class index \(classIndex) is negative") }
        guard score.isFinite else { throw .invalidArgument("detection score \(score) is not finite") }
        if let box {
            guard [box.x0, box.y0, box.x1, box.y1].allSatisfy(\.isFinite), box.x0 <= box.x1, box.y0 <= box.y1
            else { throw .invalidArgument("box \(box) is not finite with x0 <= x1 and y0 <= y1") }
        }
        if let peak, !(peak.x.isFinite && peak.y.isFinite) {
            throw .invalidArgument("peak \(peak) is not finite")
        }
        try heatmap?.validate()
    }
}

/// A logged detection as the store returns it.
///
/// JSON contract (stable; the CLI's `detections --json` and the control protocol use it):
/// `id` (integer), `time` (Unix ms), `frame` (frame sequence), `model_id` (integer or null),
/// `class` (class index), `label`, `score`, `box` (`Box` or null, frame pixels),
/// `peak` (`Point` or null), `latency_ms` (`StageLatencies`), `method`, `layer` (string or null),
/// `has_heatmap` (bool). Every key is always present; absent values are `null`.
public struct Detection: Sendable, Codable, Equatable, Hashable, Identifiable {
    public var id: Int64
    public var time: Int64
    public var frameSequence: Int64
    public var modelID: Int64?
    public var classIndex: Int
    public var label: String
    public var score: Double
    public var box: Box?
    public var peak: Point?
    public var latencies: StageLatencies
    public var method: String?
    public var layer: String?
    public var hasHeatmap: Bool

    public init(
        id: Int64, time: Int64, frameSequence: Int64, modelID: Int64?, classIndex: Int, label: String,
        score: Double, box: Box?, peak: Point?, latencies: StageLatencies, method: String?,
        layer: String?, hasHeatmap: Bool
    ) {
        self.id = id
        self.time = time
        self.frameSequence = frameSequence
        self.modelID = modelID
        self.classIndex = classIndex
        self.label = label
        self.score = score
        self.box = box
        self.peak = peak
        self.latencies = latencies
        self.method = method
        self.layer = layer
        self.hasHeatmap = hasHeatmap
    }

    enum CodingKeys: String, CodingKey {
        case id, time, frameSequence = "frame", modelID = "model_id", classIndex = "class", label, score
        case box, peak, latencies = "latency_ms", method, layer, hasHeatmap = "has_heatmap"
    }

    // Written by hand only so that nil values are encoded as explicit `null`s: scripts can
    // rely on every key being present.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(time, forKey: .time)
        try container.encode(frameSequence, forKey: .frameSequence)
        try container.encode(modelID, forKey: .modelID)
        try container.encode(classIndex, forKey: .classIndex)
        try container.encode(label, forKey: .label)
        try container.encode(score, forKey: .score)
        try container.encode(box, forKey: .box)
        try container.encode(peak, forKey: .peak)
        try container.encode(latencies, forKey: .latencies)
        try container.encode(method, forKey: .method)
        try container.encode(layer, forKey: .layer)
        try container.encode(hasHeatmap, forKey: .hasHeatmap)
    }
}

extension Detection {
    /// An axis-aligned box in frame pixels: `x0 <= x1`, `y0 <= y1`, origin top-left.
    /// JSON: `{"x0":…,"y0":…,"x1":…,"y1":…}`.
    public struct Box: Sendable, Codable, Equatable, Hashable {
        public var x0: Double
        public var y0: Double
        public var x1: Double
        public var y1: Double

        public init(x0: Double, y0: Double, x1: Double, y1: Double) {
            self.x0 = x0
            self.y0 = y0
            self.x1 = x1
            self.y1 = y1
        }
    }

    /// A point in frame pixels (the heatmap's peak). JSON: `{"x":…,"y":…}`.
    public struct Point: Sendable, Codable, Equatable, Hashable {
        public var x: Double
        public var y: Double

        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }
}
