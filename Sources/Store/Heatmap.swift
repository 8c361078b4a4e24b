import Foundation

/// The low-resolution explanation map of a detection, to be stored with it.
public struct NewHeatmap: Sendable, Equatable {
    /// Largest accepted side; real maps are the target layer's grid (7×7 … 56×56).
    public static let maximumSide = 1024
    /// Largest accepted overlay thumbnail.
    public static let maximumOverlayBytes = 4 << 20

    public var width: Int
    public var height: Int
    /// Row-major `height × width` values, 0 = coldest, 255 = hottest.
    public var grid: Data
    /// Optional JPEG thumbnail of the heatmap blended over the frame.
    public var overlayJPEG: Data?

    public init(width: Int, height: Int, grid: Data, overlayJPEG: Data? = nil) {
        self.width = width
        self.height = height
        self.grid = grid
        self.overlayJPEG = overlayJPEG
    }

    func validate() throws(StoreError) {
        guard (1...Self.maximumSide).contains(width), (1...Self.maximumSide).contains(height) else {
            throw .invalidArgument("heatmap size \(width)×\(height) is outside 1…\(Self.maximumSide)")
        }
        guard grid.count == width * height else {
            throw .invalidArgument("heatmap grid has \(grid.count) bytes, expected \(width)×\(height)")
        }
        if let overlayJPEG, overlayJPEG.count > Self.maximumOverlayBytes {
            throw .invalidArgument(
                "heatmap overlay is \(overlayJPEG.count) bytes, more than \(Self.maximumOverlayBytes)")
        }
    }
}

/// A stored heatmap. JSON: `detection_id`, `width`, `height`, `grid` (base64 of the row-major
/// uint8 grid), `overlay_jpeg` (base64 JPEG or null).
public struct HeatmapRecord: Sendable, Codable, Equatable, Hashable {
    public var detectionID: Int64
    public var width: Int
    public var height: Int
    public var grid: Data
    public var overlayJPEG: Data?

    public init(detectionID: Int64, width: Int, height: Int, grid: Data, overlayJPEG: Data?) {
        self.detectionID = detectionID
        self.width = width
        self.height = height
        self.grid = grid
        self.overlayJPEG = overlayJPEG
    }

    enum CodingKeys: String, CodingKey {
        case detectionID = "detection_id", width, height, grid, overlayJPEG = "overlay_jpeg"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(detectionID, forKey: .detectionID)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(grid, forKey: .grid)
        try container.encode(overlayJPEG, forKey: .overlayJPEG)
    }
}
