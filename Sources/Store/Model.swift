/// A model the daemon runs, identified by the SHA-256 of its file.
public struct ModelInfo: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the model file (64 characters).
    public var sha256: String
    public var name: String
    /// Class labels; index = class index.
    public var labels: [String]

    public init(sha256: String, name: String, labels: [String]) {
        self.sha256 = sha256
        self.name = name
        self.labels = labels
    }

    func validate() throws(StoreError) {
        let hex = sha256.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard sha256.utf8.count == 64, hex else {
            throw .invalidArgument("model hash \"\(sha256)\" is not 64 lowercase hex digits (SHA-256)")
        }
    }
}

/// A registered model. JSON: `id`, `sha256`, `name`, `labels`, `created` (Unix ms).
public struct ModelRecord: Sendable, Codable, Equatable, Hashable, Identifiable {
    public var id: Int64
    public var sha256: String
    public var name: String
    public var labels: [String]
    public var created: Int64

    public init(id: Int64, sha256: String, name: String, labels: [String], created: Int64) {
        self.id = id
        self.sha256 = sha256
        self.name = name
        self.labels = labels
        self.created = created
    }
}
