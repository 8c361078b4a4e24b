import GRDB

/// The database schema, as named, append-only migrations.
///
/// Never edit a migration that has shipped: databases on boards already recorded it as applied
/// (in `grdb_migrations`) and will not run it again. Add "v2-…" instead.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial") { db in
            // auto_vacuum must be INCREMENTAL before the first table exists: SQLite records it
            // in the file header when page 1 is first written, and afterwards only a full VACUUM
            // (which cannot run inside this migration's transaction) can change it. GRDB's pool
            // writes page 1 before any migration runs (switching to WAL creates and drops a probe
            // table), so the pragma is issued when the writer connection opens
            // (`DetectionStore.prepareConnection`), and `DetectionStore.open` converts a file made
            // elsewhere with one VACUUM. Without it deleted rows only go to the freelist and the
            // file never shrinks, whatever the retention policy.
            try db.execute(sql: """
                CREATE TABLE model (
                    id INTEGER PRIMARY KEY,
                    sha256 TEXT NOT NULL UNIQUE,      -- lowercase hex of the model file
                    name TEXT NOT NULL,
                    labels TEXT NOT NULL DEFAULT '[]', -- JSON array of strings, index = class
                    created INTEGER NOT NULL          -- Unix ms
                );

                -- AUTOINCREMENT: ids are never reused after pruning, so an id a client saw
                -- never names another detection later, and cursors stay unambiguous.
                CREATE TABLE detection (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time INTEGER NOT NULL,            -- Unix ms of the frame
                    frame_sequence INTEGER NOT NULL,
                    model_id INTEGER REFERENCES model(id) ON DELETE SET NULL,
                    class_index INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    score REAL NOT NULL,
                    box_x0 REAL, box_y0 REAL, box_x1 REAL, box_y1 REAL, -- frame pixels
                    peak_x REAL, peak_y REAL,
                    capture_ms REAL, decode_ms REAL, infer_ms REAL, explain_ms REAL, total_ms REAL,
                    method TEXT,
                    layer TEXT
                );
                -- Both indexes end in the rowid (= id), so they serve ORDER BY time DESC, id DESC
                -- and the (time, id) keyset without a sort.
                CREATE INDEX detection_time ON detection(time);
                CREATE INDEX detection_label_time ON detection(label, time);

                -- One heatmap per detection, keyed by it, so the cascade is a rowid lookup.
                CREATE TABLE heatmap (
                    detection_id INTEGER PRIMARY KEY REFERENCES detection(id) ON DELETE CASCADE,
                    width INTEGER NOT NULL CHECK (width > 0),
                    height INTEGER NOT NULL CHECK (height > 0),
                    grid BLOB NOT NULL CHECK (length(grid) = width * height), -- row-major uint8
                    overlay_jpeg BLOB
                );

                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time INTEGER NOT NULL,            -- Unix ms
                    kind TEXT NOT NULL,               -- start, stop, connect, disconnect, error, ...
                    message TEXT NOT NULL,
                    details TEXT                      -- JSON object of strings, or NULL
                );
                CREATE INDEX event_time ON event(time);

                -- Row counts kept by triggers: count(*) walks a whole table, and on the heatmap
                -- table that means reading every blob-laden leaf page (hundreds of MB on a full
                -- SD card) for a `status` call. A trigger costs a microsecond per row written.
                -- Cascaded heatmap deletes fire the heatmap trigger like direct ones.
                CREATE TABLE row_count (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
                """)
            for table in countedTables {
                try db.execute(sql: """
                    INSERT INTO row_count (name, n) VALUES ('\(table)', 0);
                    CREATE TRIGGER \(table)_counted_insert AFTER INSERT ON \(table)
                        BEGIN UPDATE row_count SET n = n + 1 WHERE name = '\(table)'; END;
                    CREATE TRIGGER \(table)_counted_delete AFTER DELETE ON \(table)
                        BEGIN UPDATE row_count SET n = n - 1 WHERE name = '\(table)'; END;
                    """)
            }
        }
        return migrator
    }

    /// Tables whose rows `row_count` counts.
    static let countedTables = ["model", "detection", "heatmap", "event"]

    /// `PRAGMA auto_vacuum` value of INCREMENTAL.
    static let incrementalAutoVacuum = 2

    /// Columns of `detection` in the order `DetectionStore.decodeDetection` reads them.
    static let detectionColumns = """
        d.id, d.time, d.frame_sequence, d.model_id, d.class_index, d.label, d.score,
        d.box_x0, d.box_y0, d.box_x1, d.box_y1, d.peak_x, d.peak_y,
        d.capture_ms, d.decode_ms, d.infer_ms, d.explain_ms, d.total_ms, d.method, d.layer,
        EXISTS (SELECT 1 FROM heatmap h WHERE h.detection_id = d.id)
        """

    static let insertDetection = """
        INSERT INTO detection (time, frame_sequence, model_id, class_index, label, score,
            box_x0, box_y0, box_x1, box_y1, peak_x, peak_y,
            capture_ms, decode_ms, infer_ms, explain_ms, total_ms, method, layer)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let insertHeatmap = """
        INSERT INTO heatmap (detection_id, width, height, grid, overlay_jpeg) VALUES (?, ?, ?, ?, ?)
        """
}
