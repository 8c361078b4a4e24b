/// Everything edgecamd can be told, grouped as the TOML tables of `config/edgecamd.toml`.
/// Defaults here are the documented defaults; `ConfigurationKeys` maps each TOML key to a field.
public struct DaemonConfiguration: Sendable, Equatable {
    public var model = ModelSettings()
    public var source = SourceSettings()
    public var detection = DetectionSettings()
    public var explain = ExplainSettings()
    public var store = StoreSettings()
    public var control = ControlSettings()
    public var log = LogSettings()

    public init() {}

    /// `[model]`: the network and how frames become its input.
    public struct ModelSettings: Sendable, Equatable {
        /// The int8 `.tflite` file. Required.
        public var path = ""
        /// Class names, one per line (index 0 first); empty = classes are named by index.
        public var labels = ""
        /// Threads one inference may use.
        public var threads = 1
        /// Per-channel (or single) pixel mean and std: `real = (pixel - mean) / std`.
        public var mean: [Double] = [127]
        public var std: [Double] = [128]
        /// `center`: largest centred square, resized; `stretch`: whole frame resized.
        public var crop = CropMode.center
    }

    public enum CropMode: String, Sendable, Equatable, CaseIterable {
        case center, stretch
    }

    /// `[source]`: where frames come from.
    public struct SourceSettings: Sendable, Equatable {
        public var uri = SourceSpecification.camera(device: "/dev/video0")
        /// Camera: requested rate. Replay: pacing; 0 = as fast as the model takes frames.
        public var fps = 0.0
        /// Replay: start again at the end.
        public var loop = false
        /// Camera: requested frame size.
        public var width = 640
        public var height = 480
        /// Camera: `auto` (MJPEG if offered, else YUYV), `mjpeg` or `yuyv`.
        public var format = "auto"
    }

    /// `[detection]`: which model outputs become logged detections.
    public struct DetectionSettings: Sendable, Equatable {
        /// Classes of interest (labels or indices); empty = all.
        public var classes: [ClassSelector] = []
        public var minScore = 0.5
        /// At most this many classes per frame.
        public var topK = 1
        /// While a class stays in view, log it again at most this often.
        public var repeatSeconds = 10.0
        /// A class unseen for this long has left; its next sighting is an appearance.
        public var clearSeconds = 2.0
        /// A new top-1 class is logged as a class change if it was last logged this long ago.
        public var changeSeconds = 1.0
    }

    /// `[explain]`: the heatmaps stored with detections.
    public struct ExplainSettings: Sendable, Equatable {
        public var method = "gradcam"
        /// Target layer (tensor name or index); empty = the last spatial layer before pooling.
        public var layer = ""
        /// `all`: every logged detection; `nth`: every `nth` one; `on-demand`: only via `explain`.
        public var mode = ExplainMode.all
        public var nth = 5
        /// Store a JPEG of the heatmap over the model input with each heatmap.
        public var overlay = true
        public var overlayQuality = 80
        /// Weak-localization threshold (fraction of the map's range) for the detection box.
        public var boxThreshold = 0.2
    }

    public enum ExplainMode: String, Sendable, Equatable, CaseIterable {
        case all, nth
        case onDemand = "on-demand"
    }

    /// `[store]`: the SQLite log.
    public struct StoreSettings: Sendable, Equatable {
        /// Empty = `$STATE_DIRECTORY/edgecam.db`, else `/var/lib/edgecam/edgecam.db`.
        public var path = ""
        public var maxAgeDays = 30.0
        public var maxDetections = 1_000_000
        public var maxMegabytes = 1024
        public var pruneIntervalSeconds = 60.0
        /// Longest a detection waits to be written (writes are batched).
        public var batchMilliseconds = 100
    }

    /// `[control]`: the control socket.
    public struct ControlSettings: Sendable, Equatable {
        /// Empty = `$EDGECAM_SOCKET`, `$RUNTIME_DIRECTORY/control.sock`, `/run/edgecam/control.sock`.
        public var socket = ""
        /// Group owning the socket (its members may connect); empty = the daemon's group.
        public var group = ""
        public var allowedUIDs: [Int] = []
        public var maxClients = 64
    }

    /// `[log]`
    public struct LogSettings: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error, critical.
        public var level = "info"
    }
}

/// A class of interest: a label or a class index.
public enum ClassSelector: Sendable, Hashable, CustomStringConvertible {
    case label(String)
    case index(Int)

    public var description: String {
        switch self {
        case .label(let label): label
        case .index(let index): String(index)
        }
    }
}

/// Where frames come from, as written in `source.uri` or `--source`.
public enum SourceSpecification: Sendable, Hashable, CustomStringConvertible {
    case camera(device: String)
    case jpegDirectory(String)
    case mjpegFile(String)

    /// Parses `v4l2:/dev/videoN`, `jpeg-dir:PATH` or `mjpeg:PATH`.
    public init(parsing text: String) throws(ConfigurationValueError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw ConfigurationValueError("'\(text)' is not a source; use v4l2:/dev/videoN, jpeg-dir:PATH or mjpeg:PATH")
        }
        let kind = text[..<colon], path = String(text[text.index(after: colon)...])
        guard !path.isEmpty else { throw ConfigurationValueError("source '\(text)' has no path after the ':'") }
        switch kind {
        case "v4l2": self = .camera(device: path)
        case "jpeg-dir": self = .jpegDirectory(path)
        case "mjpeg": self = .mjpegFile(path)
        default:
            throw ConfigurationValueError("unknown source kind '\(kind)'; use v4l2:/dev/videoN, jpeg-dir:PATH or mjpeg:PATH")
        }
    }

    public var description: String {
        switch self {
        case .camera(let device): "v4l2:" + device
        case .jpegDirectory(let path): "jpeg-dir:" + path
        case .mjpegFile(let path): "mjpeg:" + path
        }
    }

    public var isCamera: Bool {
        if case .camera = self { return true }
        return false
    }
}
