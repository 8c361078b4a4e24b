/// Detections and events waiting for the database, oldest first, bounded by an estimate of
/// their size in memory.
///
/// Past `budgetBytes` the oldest items are dropped (and counted), so a database that cannot take
/// writes — a full disk, a file system turned read-only, a lock held for long — costs bounded
/// memory while the pipeline keeps running. The newest items are kept: after an outage the
/// log resumes with what the camera saw last.
struct StoreWriteBuffer {
    /// Most bytes (estimated, see `estimatedBytes`) the buffer holds.
    let budgetBytes: Int
    private(set) var items: [StoreWriter.Item] = []
    private(set) var bytes = 0
    /// Detections and events dropped since the buffer was made.
    private(set) var droppedDetections = 0
    private(set) var droppedEvents = 0

    init(budgetBytes: Int) {
        self.budgetBytes = max(0, budgetBytes)
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var detectionCount: Int { items.reduce(0) { $0 + ($1.isDetection ? 1 : 0) } }

    /// Appends `item`, then drops the oldest items while over budget.
    mutating func append(_ item: StoreWriter.Item) {
        items.append(item)
        bytes += item.estimatedBytes
        trim()
    }

    /// Puts `older` in front of what is buffered (items that were taken out and could not be
    /// written go back before the ones that arrived meanwhile), then trims.
    mutating func prepend(_ older: [StoreWriter.Item]) {
        guard !older.isEmpty else { return }
        items.insert(contentsOf: older, at: 0)
        bytes += older.reduce(0) { $0 + $1.estimatedBytes }
        trim()
    }

    /// Empties the buffer and returns what it held, oldest first.
    mutating func takeAll() -> [StoreWriter.Item] {
        defer {
            items.removeAll(keepingCapacity: false)
            bytes = 0
        }
        return items
    }

    /// Counts `items` as dropped without having held them (e.g. unwritten at shutdown).
    mutating func countDropped(_ items: [StoreWriter.Item]) {
        for item in items {
            if item.isDetection { droppedDetections += 1 } else { droppedEvents += 1 }
        }
    }

    private mutating func trim() {
        guard bytes > budgetBytes else { return }
        var removed = 0
        while bytes > budgetBytes, removed < items.count {
            let item = items[removed]
            bytes -= item.estimatedBytes
            if item.isDetection { droppedDetections += 1 } else { droppedEvents += 1 }
            removed += 1
        }
        items.removeFirst(removed)
    }
}

extension StoreWriter.Item {
    var isDetection: Bool {
        if case .detection = self { return true }
        return false
    }

    /// Roughly what the item occupies in memory: the heatmap grid and overlay JPEG dominate a
    /// detection; the fixed part covers the struct, label and latency fields.
    var estimatedBytes: Int {
        switch self {
        case .detection(let pending):
            let d = pending.detection
            return 256 + d.label.utf8.count + (d.method?.utf8.count ?? 0) + (d.layer?.utf8.count ?? 0)
                + (d.heatmap.map { $0.grid.count + ($0.overlayJPEG?.count ?? 0) } ?? 0)
        case .event(let event, _):
            return 128 + event.message.utf8.count
                + (event.details?.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 32 } ?? 0)
        }
    }
}
