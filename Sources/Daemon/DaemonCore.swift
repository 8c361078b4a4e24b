import Capture
import Control
import Explain
import Foundation
import Imaging
import Locking
import Logging
import Store

/// Everything a running daemon is made of except the control server: store, model, pipeline,
/// writer, settings. The control handler talks to this; `EdgeCAMDaemon` owns it.
final class DaemonCore: Sendable {
    let settings: LiveSettings
    let store: DetectionStore
    let context: ModelContext
    let modelID: Int64
    let metrics = PipelineMetrics()
    let writer: StoreWriter
    let pipeline: Pipeline
    let events: EventBroadcaster
    let logger: Logger
    let sourceDescription: String
    let startedAt = Date()
    let socketPath: String
    /// Settings changed with `config.set` or SIGHUP that only a restart applies.
    let pendingRestart = PThreadMutex<Set<String>>([])
    /// The on-demand explainer (`explain` command), made on first use; one request at a time.
    let onDemand = PThreadMutex<Explainer?>(nil)
    private let camera: V4L2Camera?

    init(configuration: DaemonConfiguration, socketPath: String, events: EventBroadcaster, logger: Logger) throws(DaemonError) {
        self.settings = LiveSettings(configuration)
        self.events = events
        self.logger = logger
        self.socketPath = socketPath
        let configuration = configuration
        guard !configuration.model.path.isEmpty else {
            throw .configuration("model.path is not set: give --model PATH or set it in the configuration file")
        }
        context = try ModelContext(modelPath: configuration.model.path, labelsPath: configuration.model.labels,
                                   mean: configuration.model.mean, std: configuration.model.std)
        _ = try context.classIndices(configuration.detection.classes)
        do {
            store = try DetectionStore(path: configuration.store.path)
            modelID = try store.register(model: ModelInfo(sha256: context.sha256, name: context.name, labels: context.labels))
        } catch {
            throw .store(error.description)
        }
        writer = StoreWriter(store: store, events: events, settings: settings, metrics: metrics, logger: logger)
        let spec = configuration.source.uri
        sourceDescription = spec.description
        let source: any FrameSource
        let writer = self.writer
        let description = spec.description
        do {
            let pacing: ReplayPacing = configuration.source.fps > 0 ? .framesPerSecond(configuration.source.fps) : .asFastAsPossible
            let end: ReplayEnd = configuration.source.loop ? .loop : .stop
            switch spec {
            case .mjpegFile(let path):
                source = try MJPEGFileSource(path: path, pacing: pacing, end: end)
                camera = nil
            case .jpegDirectory(let path):
                source = try JPEGDirectorySource(directory: path, pacing: pacing, end: end)
                camera = nil
            case .camera(let device):
                var cameraConfiguration = V4L2CameraConfiguration(devicePath: device)
                cameraConfiguration.width = configuration.source.width
                cameraConfiguration.height = configuration.source.height
                if configuration.source.fps > 0 { cameraConfiguration.framesPerSecond = configuration.source.fps }
                switch configuration.source.format {
                case "mjpeg": cameraConfiguration.pixelFormat = .only(.mjpeg)
                case "yuyv": cameraConfiguration.pixelFormat = .only(.yuyv)
                default: cameraConfiguration.pixelFormat = .automatic
                }
                cameraConfiguration.waitForDevice = true
                let metrics = self.metrics
                let made = try V4L2Camera(configuration: cameraConfiguration) { state in
                    let kind: EventKind, message: String
                    switch state {
                    case .streaming:
                        metrics.streamStarted(at: MonotonicTime.seconds())
                        (kind, message) = (.connect, "camera streaming")
                    case .reconnecting(let attempt, _) where attempt > 1 && attempt & (attempt - 1) != 0:
                        // A camera that stays away is retried every few seconds for as long as it
                        // takes: log attempts 1, 2, 4, 8, ... so the journal and the event table
                        // do not grow by one row per attempt.
                        return
                    case .reconnecting(let attempt, let error): (kind, message) = (.disconnect, "camera lost (reconnect attempt \(attempt)): \(error)")
                    case .failed(let reason): (kind, message) = (.error, "camera failed: \(reason)")
                    case .idle, .stopped: return
                    }
                    logger.notice("\(message)")
                    writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: kind, message: message, details: ["source": description]),
                                   publishAs: "camera")
                }
                source = made
                camera = made
            }
        } catch {
            throw .source(error.description)
        }
        pipeline = Pipeline(context: context, modelID: modelID, source: source, sourceDescription: spec.description, settings: settings,
                            metrics: metrics, writer: writer, logger: logger)
    }

    func start() throws(DaemonError) {
        writer.start()
        try pipeline.start()
        writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: .start, message: "edgecamd started",
                                       details: ["source": sourceDescription, "model": context.name, "pid": String(getpid())]),
                       publishAs: "daemon")
    }

    /// Finishes the current frame, writes everything queued, logs the stop and closes the store.
    func stop() {
        pipeline.stop()
        writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: .stop, message: "edgecamd stopping"), publishAs: "daemon")
        writer.flushAndStop()
        do {
            try store.close()
        } catch {
            logger.error("closing the store: \(error)")
        }
    }

    func logEvent(_ kind: EventKind, _ message: String, details: [String: String]? = nil) {
        writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: kind, message: message, details: details), publishAs: "daemon")
    }

    /// The camera's state, or the replay source's.
    ///
    /// A camera that is streaming but has delivered no frame for over a second (and five frame
    /// intervals) is reported as `stalled` at once, not only when the stall timeout (3 s) makes
    /// it reconnect — a shorter stall would otherwise never show: `status` must not claim a
    /// stream that brings nothing.
    var cameraState: String {
        if let camera {
            let state = camera.state
            guard state == .streaming else { return state.description }
            let now = MonotonicTime.seconds()
            let lastSign = max(metrics.lastFrameArrival ?? 0, metrics.streamStart ?? 0)
            let interval = 1 / max(1, camera.negotiated?.framesPerSecond ?? camera.configuration.framesPerSecond)
            let silent = now - lastSign
            if lastSign > 0, silent > max(1, 5 * interval) {
                return "stalled: no frame for \(String(format: "%.1f", silent)) s"
            }
            return state.description
        }
        let status = pipeline.sourceStatus
        if let error = status.error { return "failed: \(error)" }
        return status.ended ? "ended" : "streaming"
    }

    /// The V4L2 camera's counters (frames, drops, corrupt buffers, reconnects); nil for replays.
    var cameraCounters: CaptureCounters? { camera?.counters }

    /// Applies `configuration` where it can be applied live; returns the keys that need a restart.
    @discardableResult
    func apply(_ configuration: DaemonConfiguration) -> [String] {
        let current = settings.current
        var restart: [String] = []
        var next = current
        for key in ConfigurationKeys.all where key.value(in: configuration) != key.value(in: current) {
            if key.live {
                try? key.apply(key.value(in: configuration), to: &next)
            } else {
                restart.append(key.name)
            }
        }
        let final = next
        settings.update { $0 = final }
        pendingRestart.withLock { $0.formUnion(restart) }
        return restart
    }

    /// A one-line summary for systemd's STATUS=.
    var statusLine: String {
        let counters = metrics.counters
        let rates = metrics.rates(at: MonotonicTime.seconds())
        let paused = pipeline.isPaused ? "paused, " : ""
        let health = writer.health
        let database = health.state == "ok" ? "" : ", database \(health.state) (\(writer.statistics.droppedDetections) dropped)"
        return "\(paused)\(String(format: "%.1f", rates.processed)) fps, \(counters.framesProcessed) frames, \(counters.detections) detections, camera \(cameraState)\(database)"
    }
}
