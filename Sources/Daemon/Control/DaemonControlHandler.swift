import Capture
import Control
import Explain
import Foundation
import Imaging
import Store

/// The daemon's answers to control commands (every command but `hello` and `subscribe`).
/// Argument and result fields are documented in `Sources/Control/PROTOCOL.md` ("Commands").
struct DaemonControlHandler: ControlHandler {
    let core: DaemonCore

    var commands: [String] {
        ["status", "detections", "detection", "heatmap", "explain", "config.get", "config.set", "pause", "resume",
         "snapshot", "db.stats", "db.prune"]
    }

    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        let args = request.arguments
        switch request.command {
        case "status":
            try args.rejectUnknown(allowing: [])
            return try status()
        case "detections":
            try args.rejectUnknown(allowing: ["since", "until", "label", "min_score", "class", "limit", "cursor"])
            let filter = DetectionFilter(
                since: try args.int64("since"), until: try args.int64("until"), label: try args.string("label"),
                minScore: try args.number("min_score"), classIndex: try args.integer("class", in: 0...Int(Int32.max)))
            let limit = try args.integer("limit", in: 1...DetectionStore.maximumPageSize) ?? 50
            return try JSONValue(encoding: try storeCall { try core.store.detections(filter: filter, limit: limit, cursor: args.string("cursor")) })
        case "detection":
            try args.rejectUnknown(allowing: ["id"])
            let id = try args.requiredInt64("id", minimum: 1)
            guard let detection = try storeCall({ try core.store.detection(id: id) }) else { throw ControlError.notFound("no detection \(id)") }
            return try JSONValue(encoding: detection)
        case "heatmap":
            try args.rejectUnknown(allowing: ["id", "format"])
            let id = try args.requiredInt64("id", minimum: 1)
            let format = try args.string("format", oneOf: ["grid", "overlay", "both"]) ?? "both"
            return try heatmap(id: id, format: format)
        case "explain":
            try args.rejectUnknown(allowing: ["path", "method", "layer", "target", "overlay"])
            return try explain(args)
        case "config.get":
            try args.rejectUnknown(allowing: ["key"])
            return try configGet(key: args.string("key"))
        case "config.set":
            try args.rejectUnknown(allowing: ["key", "value"])
            guard peer.uid == 0 || peer.uid == getuid() else {
                throw ControlError.forbidden("only root or the daemon's user may change settings")
            }
            return try configSet(key: args.requiredString("key"), value: args["value"])
        case "pause", "resume":
            try args.rejectUnknown(allowing: [])
            let pause = request.command == "pause"
            if core.pipeline.setPaused(pause) {
                core.logger.notice("\(pause ? "paused" : "resumed") by uid \(peer.uid)")
                core.logEvent(pause ? .pause : .resume, pause ? "paused" : "resumed", details: ["uid": String(peer.uid)])
            }
            return ["paused": .bool(pause)]
        case "snapshot":
            try args.rejectUnknown(allowing: ["quality"])
            return try snapshot(quality: args.integer("quality", in: 1...100) ?? 90)
        case "db.stats":
            try args.rejectUnknown(allowing: [])
            return try JSONValue(encoding: try storeCall { try core.store.stats() })
        case "db.prune":
            try args.rejectUnknown(allowing: ["max_age_days", "max_detections", "max_megabytes"])
            let store = core.settings.current.store
            let maxAge = try args.number("max_age_days", in: 0...1e6) ?? store.maxAgeDays
            let maxDetections = try args.integer("max_detections", in: 0...Int.max) ?? store.maxDetections
            let maxMegabytes = try args.integer("max_megabytes", in: 1...(1 << 30)) ?? store.maxMegabytes
            let policy = RetentionPolicy(maxAge: maxAge > 0 ? .seconds(maxAge * 86400) : nil,
                                         maxDetections: maxDetections > 0 ? maxDetections : nil,
                                         maxDatabaseBytes: Int64(maxMegabytes) << 20)
            return try JSONValue(encoding: try storeCall { try core.store.prune(policy) })
        default:
            throw ControlError(.unknownCommand, "unknown command '\(request.command)'")
        }
    }

    private func storeCall<T>(_ body: () throws -> T) throws(ControlError) -> T {
        do {
            return try body()
        } catch let error as ControlError {
            throw error
        } catch {
            guard let error = error as? StoreError else { throw .internalError("\(error)") }
            switch error {
            case .invalidArgument(let message): throw .badArguments(message)
            case .invalidCursor: throw .badArguments("args.cursor is not a cursor from a previous page")
            default: throw .internalError(error.description)
            }
        }
    }

    // MARK: status

    private func status() throws -> JSONValue {
        let counters = core.metrics.counters
        let rates = core.metrics.rates(at: MonotonicTime.seconds())
        var latencies: [String: JSONValue] = [:]
        for (stage, value) in core.metrics.latencies() {
            latencies[stage.rawValue] = ["p50": .number(value.p50), "p99": .number(value.p99), "samples": .number(Double(value.samples))]
        }
        let writer = core.writer.statistics
        let health = core.writer.health
        let stats = try? core.store.stats()
        return [
            "uptime_seconds": .number(Date().timeIntervalSince(core.startedAt).rounded()),
            "pid": .number(Double(getpid())),
            "state": .string(core.pipeline.isPaused ? "paused" : "running"),
            "source": .string(core.sourceDescription),
            "camera": .string(core.cameraState),
            "fps_in": .number((rates.inbound * 10).rounded() / 10),
            "fps_out": .number((rates.processed * 10).rounded() / 10),
            "frames": [
                "in": .number(Double(counters.framesIn)), "processed": .number(Double(counters.framesProcessed)),
                "dropped": .number(Double(counters.framesDropped)), "paused": .number(Double(counters.framesPaused)),
                "errors": .number(Double(counters.frameErrors)),
            ],
            "detections": .number(Double(counters.detections)),
            "explained": .number(Double(counters.explained)),
            "latency_ms": .object(latencies),
            "model": [
                "id": .number(Double(core.modelID)), "name": .string(core.context.name), "sha256": .string(core.context.sha256),
                "classes": .number(Double(core.context.output.elementCount)),
            ],
            "db": [
                "path": .string(core.store.path),
                "detections": stats.map { .number(Double($0.detections)) } ?? .null,
                "database_bytes": stats.map { .number(Double($0.databaseBytes)) } ?? .null,
                "wal_bytes": stats.map { .number(Double($0.walBytes)) } ?? .null,
                "written": .number(Double(writer.detectionsWritten)), "write_failures": .number(Double(writer.failures)),
                "state": .string(health.state), "error": health.error.map { .string($0) } ?? .null,
                "failing_since": health.since.map { .number(Double($0)) } ?? .null,
                "buffered": .number(Double(writer.bufferedDetections)), "buffered_bytes": .number(Double(writer.bufferedBytes)),
                "dropped": .number(Double(writer.droppedDetections)), "dropped_events": .number(Double(writer.droppedEvents)),
            ],
            "capture": core.cameraCounters.map { c in
                ["frames": .number(Double(c.frames)), "drops": .number(Double(c.drops)), "corrupt": .number(Double(c.corrupt)),
                 "reconnects": .number(Double(c.reconnects))] as JSONValue
            } ?? .null,
            "subscribers": .number(Double(core.events.subscriberCount)),
            "restart_required": .array(core.pendingRestart.withLock { $0 }.sorted().map { .string($0) }),
            "last_error": counters.lastError.map { .string($0) } ?? writer.lastError.map { .string($0) } ?? .null,
        ]
    }

    // MARK: heatmap

    private func heatmap(id: Int64, format: String) throws -> JSONValue {
        guard let record = try storeCall({ try core.store.heatmap(detectionID: id) }) else {
            if try storeCall({ try core.store.detection(id: id) }) == nil { throw ControlError.notFound("no detection \(id)") }
            throw ControlError.notFound("detection \(id) has no heatmap (it was not explained)")
        }
        if format == "overlay", record.overlayJPEG == nil {
            throw ControlError.notFound("detection \(id) has no overlay JPEG (explain.overlay was off)")
        }
        return [
            "detection_id": .number(Double(id)), "width": .number(Double(record.width)), "height": .number(Double(record.height)),
            "grid": format == "overlay" ? JSONValue.null : JSONValue.string(record.grid.base64EncodedString()),
            "overlay_jpeg": format == "grid" ? JSONValue.null : record.overlayJPEG.map { JSONValue.string($0.base64EncodedString()) } ?? JSONValue.null,
        ]
    }

    // MARK: explain

    private func explain(_ args: ControlArguments) throws -> JSONValue {
        let configured = core.settings.current
        let method = try args.string("method") ?? configured.explain.method
        let layer = try args.string("layer") ?? configured.explain.layer
        let overlay = try args.bool("overlay") ?? true
        var target: Int?
        if let value = args["target"], !value.isNull {
            if let index = value.intValue, index >= 0 {
                target = index
            } else if let label = value.stringValue {
                guard let index = core.context.labels.firstIndex(of: label) ?? Int(label) else {
                    throw ControlError.badArguments("args.target: no class is labelled '\(label)'")
                }
                target = index
            } else {
                throw ControlError.badArguments("args.target must be a class index or a label")
            }
        }
        let request: ExplanationRequest
        do {
            request = try ExplanationRequest(method: method, layer: layer, overlay: overlay, overlayQuality: configured.explain.overlayQuality,
                                             boxThreshold: configured.explain.boxThreshold)
        } catch {
            throw ControlError.badArguments(error.description)
        }
        let decoder: JPEGDecoder
        do { decoder = try JPEGDecoder() } catch { throw ControlError.internalError("\(error)") }
        let input: PreparedInput
        var frameSequence: JSONValue = .null
        if let path = try args.string("path") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ControlError.notFound("cannot read \(path) (the daemon reads it, with the daemon's permissions)")
            }
            let frame = Frame(bytes: [UInt8](data), pixelFormat: .mjpeg, width: 0, height: 0, bytesPerLine: 0, sequence: 0,
                              timestampNanoseconds: 0)
            do { input = try core.context.prepare(frame, decoder: decoder, crop: configured.model.crop) } catch {
                throw ControlError.badArguments("\(path): \(error)")
            }
        } else {
            guard let frame = core.pipeline.latestFrame else { throw ControlError.unavailable("no frame has arrived yet") }
            frameSequence = .number(Double(frame.sequence))
            do { input = try core.context.prepare(frame, decoder: decoder, crop: configured.model.crop) } catch {
                throw ControlError.unavailable("the latest frame cannot be used: \(error)")
            }
        }
        let context = core.context
        let threads = configured.model.threads
        let rendered = try core.onDemand.withLock { (explainer) throws -> RenderedExplanation in
            if explainer == nil {
                explainer = try Explainer(model: context.model, interpreterOptions: .init(threads: threads))
            }
            guard let explainer else { throw ControlError.internalError("explainer missing") }
            return try explainer.render(input, classIndex: target, request: request)
        }
        let targetClass = rendered.targetClass, logit = rendered.logit
        return [
            "frame": frameSequence,
            "class": .number(Double(targetClass)),
            "label": .string(context.label(targetClass)),
            "logit": .number(Double(logit)),
            "method": .string(rendered.method),
            "layer": rendered.layer.map { .string($0) } ?? .null,
            "width": .number(Double(rendered.heatmap.width)),
            "height": .number(Double(rendered.heatmap.height)),
            "grid": .string(rendered.heatmap.grid.base64EncodedString()),
            "box": try rendered.box.map { try JSONValue(encoding: $0) } ?? .null,
            "peak": try rendered.peak.map { try JSONValue(encoding: $0) } ?? .null,
            "overlay_jpeg": rendered.heatmap.overlayJPEG.map { .string($0.base64EncodedString()) } ?? .null,
        ]
    }

    // MARK: config

    private func configGet(key: String?) throws -> JSONValue {
        let configuration = core.settings.current
        if let key {
            guard let entry = ConfigurationKeys.key(key) else { throw ControlError.notFound("unknown configuration key '\(key)'") }
            return ["key": .string(key), "value": Self.json(entry.value(in: configuration)), "live": .bool(entry.live)]
        }
        var all: [String: JSONValue] = [:]
        for entry in ConfigurationKeys.all { all[entry.name] = Self.json(entry.value(in: configuration)) }
        return .object(all)
    }

    private func configSet(key: String, value: JSONValue?) throws -> JSONValue {
        guard let entry = ConfigurationKeys.key(key) else { throw ControlError.notFound("unknown configuration key '\(key)'") }
        guard let value, let toml = Self.toml(value) else { throw ControlError.badArguments("args.value is required (a string, number, boolean or array)") }
        var next = core.settings.current
        do {
            try entry.apply(toml, to: &next)
        } catch {
            throw ControlError.badArguments("\(key): \(error.message)")
        }
        if key == "detection.classes" {
            do { _ = try core.context.classIndices(next.detection.classes) } catch { throw ControlError.badArguments(error.description) }
        }
        if key == "explain.method" || key == "explain.layer" {
            do { _ = try ExplanationRequest(next.explain) } catch { throw ControlError.badArguments(error.description) }
            if !next.explain.layer.isEmpty {
                do { _ = try core.context.model.tensorIndex(named: next.explain.layer) } catch {
                    throw ControlError.badArguments("explain.layer: \(error)")
                }
            }
        }
        let restart = core.apply(next)
        let applied = restart.isEmpty
        let newValue = entry.value(in: next)
        core.logger.notice("config.set \(key) = \(newValue)\(applied ? "" : " (restart required)")")
        core.logEvent(.config, "\(key) = \(newValue)", details: ["key": key, "value": newValue.description, "applied": String(applied)])
        return ["key": .string(key), "value": Self.json(newValue), "applied": .bool(applied), "restart_required": .bool(!applied)]
    }

    static func json(_ value: TOMLValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .integer(let int): .number(Double(int))
        case .float(let double): .number(double)
        case .bool(let bool): .bool(bool)
        case .array(let values): .array(values.map(json))
        }
    }

    static func toml(_ value: JSONValue) -> TOMLValue? {
        switch value {
        case .string(let text): return .string(text)
        case .number(let number):
            if let int = Int64(exactly: number) { return .integer(int) }
            return .float(number)
        case .bool(let bool): return .bool(bool)
        case .array(let values):
            var out: [TOMLValue] = []
            for item in values {
                guard let converted = toml(item) else { return nil }
                out.append(converted)
            }
            return .array(out)
        default: return nil
        }
    }

    // MARK: snapshot

    private func snapshot(quality: Int) throws -> JSONValue {
        guard let frame = core.pipeline.latestFrame else { throw ControlError.unavailable("no frame has arrived yet") }
        var jpeg: [UInt8]
        var width = frame.width, height = frame.height
        switch frame.pixelFormat {
        case .mjpeg:
            jpeg = frame.bytes
            if width == 0 || height == 0, let decoder = try? JPEGDecoder(),
               let header = try? frame.bytes.withUnsafeBytes({ (raw) throws(JPEGError) in try decoder.header(of: raw) }) {
                width = header.width
                height = header.height
            }
        case .yuyv:
            do {
                let image = try RGBImage(yuyv: frame.bytes, width: frame.width, height: frame.height,
                                         bytesPerLine: frame.bytesPerLine > 0 ? frame.bytesPerLine : nil)
                jpeg = try image.jpegData(quality: quality)
            } catch {
                throw ControlError.internalError("encoding the frame: \(error)")
            }
        }
        return [
            "frame": .number(Double(frame.sequence)), "width": .number(Double(width)), "height": .number(Double(height)),
            "format": .string(frame.pixelFormat.fourCC), "jpeg": .string(Data(jpeg).base64EncodedString()),
        ]
    }
}
