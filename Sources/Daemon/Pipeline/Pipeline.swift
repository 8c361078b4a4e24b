import Capture
import Dispatch
import Explain
import Foundation
import Imaging
import Inference
import Locking
import Logging
import Store

/// source → decode/preprocess → infer → detection policy → explain → (StoreWriter) store → events.
///
/// Two threads: the capture thread reads the source and puts each frame in a `FrameSlot`
/// (never waiting); the inference thread takes the newest frame and runs every other stage
/// except the store write, which `StoreWriter` batches on a third thread.
final class Pipeline: Sendable {
    private let context: ModelContext
    private let modelID: Int64?
    private let source: any FrameSource
    private let sourceDescription: String
    private let settings: LiveSettings
    private let metrics: PipelineMetrics
    private let writer: StoreWriter
    private let logger: Logger
    private let slot = FrameSlot()
    private let captureDone = DispatchSemaphore(value: 0)
    private let inferenceDone = DispatchSemaphore(value: 0)
    /// Signalled when the pipeline is resumed or stopped, for an on-demand capture thread
    /// waiting out a pause; it re-checks the state, so surplus signals only cost a loop.
    private let resumedOrStopped = DispatchSemaphore(value: 0)

    private struct State {
        var paused = false
        var latestFrame: Frame?
        var sourceEnded = false
        var sourceError: String?
        var started = false
        var stopped = false
    }

    private let state = PThreadMutex(State())

    init(context: ModelContext, modelID: Int64?, source: any FrameSource, sourceDescription: String, settings: LiveSettings,
         metrics: PipelineMetrics, writer: StoreWriter, logger: Logger) {
        self.context = context
        self.modelID = modelID
        self.source = source
        self.sourceDescription = sourceDescription
        self.settings = settings
        self.metrics = metrics
        self.writer = writer
        self.logger = logger
    }

    /// Prepares the model on the inference thread, then starts capturing. Throws if the model
    /// cannot be prepared (e.g. the configured explanation layer does not exist).
    func start() throws(DaemonError) {
        let ready = DispatchSemaphore(value: 0)
        let setup = PThreadMutex<DaemonError?>(nil)
        let inference = Thread { [self] in
            let stages: InferenceStages
            do throws(DaemonError) {
                stages = try InferenceStages(context: context, settings: settings.current)
            } catch {
                setup.withLock { $0 = error }
                ready.signal()
                inferenceDone.signal()
                return
            }
            ready.signal()
            runInference(stages)
            inferenceDone.signal()
        }
        inference.name = "edgecamd-infer"
        inference.start()
        ready.wait()
        if let error = setup.withLock({ $0 }) { throw error }
        let capture = Thread { [self] in
            runCapture()
            captureDone.signal()
        }
        capture.name = "edgecamd-capture"
        capture.start()
        state.withLock { $0.started = true }
    }

    /// Stops the source, lets the inference thread finish the frame it is on, and returns.
    /// Detections already handed to the writer are flushed by the caller (`StoreWriter.flushAndStop`).
    func stop() {
        let (started, first) = state.withLock { state in
            defer { state.stopped = true }
            return (state.started, !state.stopped)
        }
        guard first, started else { return }
        resumedOrStopped.signal()
        source.stop()
        captureDone.wait()
        slot.close()
        inferenceDone.wait()
    }

    var isPaused: Bool { state.withLock { $0.paused } }

    func setPaused(_ paused: Bool) -> Bool {
        let changed = state.withLock { state in
            defer { state.paused = paused }
            return state.paused != paused
        }
        if changed, !paused { resumedOrStopped.signal() }
        return changed
    }

    /// The newest frame the source delivered.
    var latestFrame: Frame? { state.withLock { $0.latestFrame } }

    var sourceStatus: (ended: Bool, error: String?) { state.withLock { ($0.sourceEnded, $0.sourceError) } }

    // MARK: Capture thread

    private func runCapture() {
        let onDemand = source.deliversOnDemand
        while true {
            if onDemand {
                // An unpaced replay makes a frame whenever asked: ask only once the inference
                // thread has taken the last one, and not while paused; else this thread spins
                // making frames that are dropped unseen.
                guard slot.waitUntilEmpty() else { return }
                while state.withLock({ $0.paused && !$0.stopped }) { resumedOrStopped.wait() }
            }
            let result: FrameReadResult
            do {
                result = try source.nextFrame(timeout: .milliseconds(500))
            } catch {
                logger.error("frame source failed: \(error)")
                state.withLock { $0.sourceError = error.description }
                writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: .error, message: "source failed: \(error)",
                                               details: ["source": sourceDescription]), publishAs: "camera")
                return
            }
            switch result {
            case .frame(let frame):
                metrics.frameArrived(at: MonotonicTime.seconds())
                state.withLock { $0.latestFrame = frame }
                if slot.put(frame) { metrics.update { $0.framesDropped += 1 } }
            case .timedOut:
                continue
            case .endOfStream:
                let stopping = state.withLock { state in
                    state.sourceEnded = true
                    return state.stopped
                }
                if !stopping {
                    logger.info("source \(sourceDescription) ended")
                    writer.enqueue(event: NewEvent(time: DetectionStore.now(), kind: .stop, message: "source ended",
                                                   details: ["source": sourceDescription]), publishAs: "camera")
                }
                return
            }
        }
    }

    // MARK: Inference thread

    private func runInference(_ stages: InferenceStages) {
        var policy = DetectionPolicy()
        var explainCounter = 0
        var rulesSource: DaemonConfiguration.DetectionSettings?
        var rules: DetectionPolicy.Rules?
        while true {
            metrics.beat()
            guard let frame = slot.take(timeout: .seconds(1)) else {
                if slot.isClosed { return }
                continue
            }
            if isPaused {
                metrics.update { $0.framesPaused += 1 }
                continue
            }
            let configuration = settings.current
            let dequeued = MonotonicTime.nanoseconds()
            // The frame's capture time on the wall clock (its timestamp is CLOCK_MONOTONIC).
            let age = frame.timestampNanoseconds > 0 && dequeued > frame.timestampNanoseconds ? dequeued - frame.timestampNanoseconds : 0
            let wallTime = DetectionStore.now() - Int64(age / 1_000_000)
            if rulesSource != configuration.detection || rules == nil {
                let classes: Set<Int>?
                do {
                    classes = try context.classIndices(configuration.detection.classes)
                } catch {
                    logger.error("\(error); logging every class")
                    classes = nil
                }
                let d = configuration.detection
                rules = DetectionPolicy.Rules(classes: classes, minScore: d.minScore, topK: d.topK, repeatSeconds: d.repeatSeconds,
                                              clearSeconds: d.clearSeconds, changeSeconds: d.changeSeconds)
                rulesSource = d
            }
            let input: PreparedInput
            do {
                input = try context.prepare(frame, decoder: stages.decoder, crop: configuration.model.crop)
            } catch {
                metrics.update {
                    $0.frameErrors += 1
                    $0.lastError = error.description
                }
                logger.debug("skipping frame: \(error)")
                continue
            }
            let prepared = MonotonicTime.nanoseconds()
            let scores: [Float]
            do {
                scores = try stages.infer(input, explain: configuration.explain)
            } catch {
                metrics.update {
                    $0.frameErrors += 1
                    $0.lastError = error.description
                }
                continue
            }
            let inferred = MonotonicTime.nanoseconds()
            let decodeMs = Double(prepared &- dequeued) / 1e6, inferMs = Double(inferred &- prepared) / 1e6
            metrics.record(.decode, milliseconds: decodeMs)
            metrics.record(.infer, milliseconds: inferMs)
            let captureMs = age > 0 ? Double(age) / 1e6 : nil
            guard let rules else { continue }
            let decisions = policy.evaluate(scores: scores, at: Double(dequeued) / 1e9, rules: rules)
            for decision in decisions {
                var detection = NewDetection(
                    time: wallTime, frameSequence: Int64(clamping: frame.sequence), modelID: modelID, classIndex: decision.classIndex,
                    label: context.label(decision.classIndex), score: decision.score,
                    latencies: StageLatencies(capture: captureMs, decode: decodeMs, infer: inferMs))
                explainCounter += 1
                let explain: Bool
                switch configuration.explain.mode {
                case .all: explain = true
                case .nth: explain = (explainCounter - 1) % configuration.explain.nth == 0
                case .onDemand: explain = false
                }
                if explain {
                    let start = MonotonicTime.nanoseconds()
                    do {
                        let request = try ExplanationRequest(configuration.explain)
                        let rendered = try stages.explain(input, classIndex: decision.classIndex, request: request)
                        detection.method = rendered.method
                        detection.layer = rendered.layer
                        detection.heatmap = rendered.heatmap
                        detection.box = rendered.box
                        detection.peak = rendered.peak
                        let ms = Double(MonotonicTime.nanoseconds() &- start) / 1e6
                        detection.latencies.explain = ms
                        metrics.record(.explain, milliseconds: ms)
                        metrics.update { $0.explained += 1 }
                    } catch {
                        metrics.update {
                            $0.explainErrors += 1
                            $0.lastError = error.description
                        }
                        logger.warning("\(error)")
                    }
                }
                detection.latencies.total = Double(MonotonicTime.nanoseconds() &- dequeued) / 1e6
                metrics.update { $0.detections += 1 }
                writer.enqueue(StoreWriter.PendingDetection(detection: detection, dequeuedNanoseconds: dequeued))
            }
            metrics.frameProcessed(at: MonotonicTime.seconds())
        }
    }
}

/// The non-thread-safe objects of the inference thread, made and used on that thread only.
/// (The `explain` control command uses an explainer of its own, `DaemonCore.onDemand`.)
final class InferenceStages {
    let decoder: JPEGDecoder
    /// Runs frames that will not be explained; keeps no activations, so its arena is smallest.
    private let interpreter: Interpreter
    private let context: ModelContext
    private let threads: Int
    private var cachedExplainer: Explainer?
    /// The method and layer whose tensors the last forward pass kept (it ran on the explainer's
    /// recording interpreter for them), or nil after a pass on the plain interpreter.
    private var recorded: (method: ExplanationMethod, layer: LayerSelection)?

    init(context: ModelContext, settings: DaemonConfiguration) throws(DaemonError) {
        self.context = context
        threads = settings.model.threads
        do {
            decoder = try JPEGDecoder()
        } catch {
            throw .frame("JPEG decoder: \(error)")
        }
        do {
            interpreter = try Interpreter(model: context.model, options: InterpreterOptions(threads: settings.model.threads))
        } catch {
            throw .model("\(context.path): \(error)")
        }
        if settings.explain.mode != .onDemand {
            // Fail at start, not at the first detection, when the method or layer does not fit.
            let request = try ExplanationRequest(settings.explain)
            let blank: RGBImage
            do {
                blank = try RGBImage(width: context.inputWidth, height: context.inputHeight, fill: .letterboxGrey)
            } catch {
                throw .frame("\(error)")
            }
            let probe = try context.prepare(blank, frameWidth: blank.width, frameHeight: blank.height, crop: .stretch)
            _ = try explainer().render(probe, classIndex: nil, request: request)
        }
    }

    /// Runs the model on `input` and returns the class scores.
    ///
    /// The one place that picks the interpreter of a frame. When the frame's detections may be
    /// explained (`explain.mode` is not `on-demand`), the explainer's recording interpreter for
    /// the configured method and layer runs it, so ``explain(_:classIndex:request:)`` reuses this
    /// pass instead of running the model again; otherwise the plain interpreter does. `nth` mode
    /// records every frame too: which frames log a detection is only known after the pass, and
    /// recording costs nothing measurable (docs/DAEMON.md, "Performance").
    func infer(_ input: PreparedInput, explain settings: DaemonConfiguration.ExplainSettings) throws(DaemonError) -> [Float] {
        recorded = nil
        var runner = interpreter
        // A method or layer that cannot be recorded falls back to the plain interpreter; the
        // explanation then fails with the same error, which is counted and logged there.
        if settings.mode != .onDemand, let request = try? ExplanationRequest(settings),
           let recording = try? explainer().recordingInterpreter(for: request.method, layer: request.layer) {
            runner = recording
            recorded = (request.method, request.layer)
        }
        do {
            try runner.setInput(0, bytes: input.bytes)
            runner.invoke()
            return context.scores(fromOutput: try runner.output(0))
        } catch {
            recorded = nil
            throw .frame("\(error)")
        }
    }

    /// Explains `input`, the frame ``infer(_:explain:)`` last ran, for `classIndex`: from that
    /// forward pass when it recorded `request`'s method and layer, otherwise with a pass of its own.
    func explain(_ input: PreparedInput, classIndex: Int?, request: ExplanationRequest) throws(DaemonError) -> RenderedExplanation {
        let explainer = try explainer()
        if let recorded, recorded.method == request.method, recorded.layer == request.layer {
            return try explainer.renderRecorded(input, classIndex: classIndex, request: request)
        }
        return try explainer.render(input, classIndex: classIndex, request: request)
    }

    /// The explainer, made on first use (it prepares interpreters of its own).
    func explainer() throws(DaemonError) -> Explainer {
        if let cachedExplainer { return cachedExplainer }
        do {
            let made = try Explainer(model: context.model, interpreterOptions: InterpreterOptions(threads: threads))
            cachedExplainer = made
            return made
        } catch {
            throw .explain("\(error)")
        }
    }
}
