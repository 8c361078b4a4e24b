import Foundation
import GRDB

extension DetectionStore {
    /// Largest page a query returns.
    public static let maximumPageSize = 10_000

    /// Detections matching `filter`, newest first (by time, then id), one page at a time.
    ///
    /// Paging is by key, not offset: a page costs the same however deep it is, and rows
    /// inserted between two calls neither repeat nor skip rows of later pages.
    /// - Parameters:
    ///   - limit: rows per page, 1…`maximumPageSize`.
    ///   - cursor: `nextCursor` of the previous page, `nil` for the first page.
    public func detections(
        filter: DetectionFilter = .init(), limit: Int = 100, cursor: String? = nil
    ) throws(StoreError) -> Page<Detection> {
        guard (1...Self.maximumPageSize).contains(limit) else {
            throw .invalidArgument("page limit \(limit) is outside 1…\(Self.maximumPageSize)")
        }
        var position: DetectionCursor?
        if let cursor { position = try DetectionCursor(token: cursor) }

        var conditions: [String] = []
        var arguments = StatementArguments()
        // Each filter field that is set adds one clause and its argument.
        let filters: [(clause: String, value: (any DatabaseValueConvertible)?)] = [
            ("d.time >= ?", filter.since), ("d.time < ?", filter.until), ("d.label = ?", filter.label),
            ("d.score >= ?", filter.minScore), ("d.class_index = ?", filter.classIndex), ("d.model_id = ?", filter.modelID),
        ]
        for case let (clause, value?) in filters {
            conditions.append(clause)
            arguments += [value]
        }
        if let position {
            // (time, id) < (t, i), written so that `time <= t` is a plain index range and the
            // OR only filters the rows that share time t.
            conditions.append("d.time <= ? AND (d.time < ? OR d.id < ?)")
            arguments += [position.time, position.time, position.id]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        // One row more than asked tells whether another page exists, so the last page has no
        // cursor and a client never fetches an empty page.
        arguments += [limit + 1]
        let sql = """
            SELECT \(Schema.detectionColumns) FROM detection d \(whereClause)
            ORDER BY d.time DESC, d.id DESC LIMIT ?
            """
        var items = try perform {
            try pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.decodeDetection)
            }
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            if let last = items.last { next = DetectionCursor(time: last.time, id: last.id).token }
        }
        return Page(items: items, nextCursor: next)
    }

    /// The detection with this id, or `nil` (e.g. pruned).
    public func detection(id: Int64) throws(StoreError) -> Detection? {
        try perform {
            try pool.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT \(Schema.detectionColumns) FROM detection d WHERE d.id = ?", arguments: [id]
                ).map(Self.decodeDetection)
            }
        }
    }

    /// The heatmap of a detection, or `nil` when it has none (or the detection is gone).
    public func heatmap(detectionID: Int64) throws(StoreError) -> HeatmapRecord? {
        try perform {
            try pool.read { db in
                guard let row = try Row.fetchOne(
                    db, sql: "SELECT width, height, grid, overlay_jpeg FROM heatmap WHERE detection_id = ?",
                    arguments: [detectionID])
                else { return nil }
                return HeatmapRecord(
                    detectionID: detectionID, width: try row.decode(atIndex: 0), height: try row.decode(atIndex: 1),
                    grid: try row.decode(atIndex: 2), overlayJPEG: try row.decode(atIndex: 3))
            }
        }
    }

    /// The newest `limit` events at or after `since` (Unix ms), in chronological order.
    public func events(since: Int64? = nil, limit: Int = 100) throws(StoreError) -> [Event] {
        guard (1...Self.maximumPageSize).contains(limit) else {
            throw .invalidArgument("event limit \(limit) is outside 1…\(Self.maximumPageSize)")
        }
        return try perform {
            try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, time, kind, message, details FROM event WHERE time >= ?
                        ORDER BY time DESC, id DESC LIMIT ?
                        """,
                    arguments: [since ?? Int64.min, limit])
                return try rows.reversed().map { row in
                    let details: String? = try row.decode(atIndex: 4)
                    return Event(
                        id: try row.decode(atIndex: 0), time: try row.decode(atIndex: 1),
                        kind: EventKind(try row.decode(String.self, atIndex: 2)), message: try row.decode(atIndex: 3),
                        details: details.flatMap { Self.decodeJSON([String: String].self, $0) })
                }
            }
        }
    }

    /// The model with this id, or `nil`.
    public func model(id: Int64) throws(StoreError) -> ModelRecord? {
        try perform {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT id, sha256, name, labels, created FROM model WHERE id = ?", arguments: [id])
                    .map(Self.decodeModel)
            }
        }
    }

    /// Every registered model, oldest first.
    public func models() throws(StoreError) -> [ModelRecord] {
        try perform {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, sha256, name, labels, created FROM model ORDER BY id")
                    .map(Self.decodeModel)
            }
        }
    }

    // MARK: Decoding rows

    /// Reads a row selected with `Schema.detectionColumns`.
    static func decodeDetection(_ row: Row) throws -> Detection {
        let x0: Double? = try row.decode(atIndex: 7)
        let y0: Double? = try row.decode(atIndex: 8)
        let x1: Double? = try row.decode(atIndex: 9)
        let y1: Double? = try row.decode(atIndex: 10)
        let peakX: Double? = try row.decode(atIndex: 11)
        let peakY: Double? = try row.decode(atIndex: 12)
        var box: Detection.Box?
        if let x0, let y0, let x1, let y1 { box = Detection.Box(x0: x0, y0: y0, x1: x1, y1: y1) }
        var peak: Detection.Point?
        if let peakX, let peakY { peak = Detection.Point(x: peakX, y: peakY) }
        return Detection(
            id: try row.decode(atIndex: 0),
            time: try row.decode(atIndex: 1),
            frameSequence: try row.decode(atIndex: 2),
            modelID: try row.decode(atIndex: 3),
            classIndex: try row.decode(atIndex: 4),
            label: try row.decode(atIndex: 5),
            score: try row.decode(atIndex: 6),
            box: box,
            peak: peak,
            latencies: StageLatencies(
                capture: try row.decode(atIndex: 13), decode: try row.decode(atIndex: 14),
                infer: try row.decode(atIndex: 15), explain: try row.decode(atIndex: 16),
                total: try row.decode(atIndex: 17)),
            method: try row.decode(atIndex: 18),
            layer: try row.decode(atIndex: 19),
            hasHeatmap: try row.decode(atIndex: 20))
    }

    static func decodeModel(_ row: Row) throws -> ModelRecord {
        let labels: String = try row.decode(atIndex: 3)
        return ModelRecord(
            id: try row.decode(atIndex: 0), sha256: try row.decode(atIndex: 1), name: try row.decode(atIndex: 2),
            labels: decodeJSON([String].self, labels) ?? [], created: try row.decode(atIndex: 4))
    }

    /// Decodes JSON the store wrote; `nil` for text edited into something else.
    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
