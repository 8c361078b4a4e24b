/// Which detections a query returns. All conditions are combined with AND; `nil` = no condition.
public struct DetectionFilter: Sendable, Equatable, Codable {
    /// Inclusive lower time bound, Unix ms.
    public var since: Int64?
    /// Exclusive upper time bound, Unix ms.
    public var until: Int64?
    /// Exact label (served by the (label, time) index).
    public var label: String?
    /// Inclusive minimum score.
    public var minScore: Double?
    public var classIndex: Int?
    public var modelID: Int64?

    public init(
        since: Int64? = nil, until: Int64? = nil, label: String? = nil, minScore: Double? = nil,
        classIndex: Int? = nil, modelID: Int64? = nil
    ) {
        self.since = since
        self.until = until
        self.label = label
        self.minScore = minScore
        self.classIndex = classIndex
        self.modelID = modelID
    }

    enum CodingKeys: String, CodingKey {
        case since, until, label, minScore = "min_score", classIndex = "class", modelID = "model_id"
    }
}

/// One page of a query, newest first. Pass `nextCursor` back to get the next (older) page;
/// it is `nil` on the last page. JSON: `items`, `next_cursor`.
public struct Page<Item: Sendable & Codable & Equatable>: Sendable, Codable, Equatable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor = "next_cursor" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// The position after the last item of a page: pages are ordered by (time, id) descending, so
/// the next page holds the rows strictly before this key. Rows inserted meanwhile (newer, or
/// older with a larger id) never shift a page boundary: no duplicates, no gaps.
struct DetectionCursor: Equatable {
    var time: Int64
    var id: Int64

    /// The opaque text form: "d1.<time>.<id>". Clients must not build or parse it.
    var token: String { "d1.\(time).\(id)" }

    init(time: Int64, id: Int64) {
        self.time = time
        self.id = id
    }

    init(token: String) throws(StoreError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "d1", let time = Int64(parts[1]), let id = Int64(parts[2]) else {
            throw .invalidCursor(token)
        }
        self.time = time
        self.id = id
    }
}
