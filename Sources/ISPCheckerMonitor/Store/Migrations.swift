/// The history's schema, as numbered steps. Each store records the versions it applied in
/// `schema_migrations(version, description, applied_at_ms)` and applies the missing ones in
/// order, each in its own transaction. Add steps at the end; never edit an applied one.
struct SchemaMigration: Sendable {
    var version: Int
    var description: String
    var sqlite: [String]
    var postgres: [String]
}

enum SchemaMigrations {
    static let createTable = (
        sqlite: """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at_ms INTEGER NOT NULL
        )
        """,
        postgres: """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at_ms BIGINT NOT NULL
        )
        """
    )

    static let all: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            description: "runs table with target/time indexes",
            sqlite: [
                """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    target TEXT NOT NULL,
                    timestamp_ms INTEGER NOT NULL,
                    score REAL NOT NULL,
                    severity TEXT NOT NULL,
                    report_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX runs_timestamp ON runs (timestamp_ms)",
                "CREATE INDEX runs_target_timestamp ON runs (target, timestamp_ms)",
            ],
            postgres: [
                """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY,
                    target TEXT NOT NULL,
                    timestamp_ms BIGINT NOT NULL,
                    score DOUBLE PRECISION NOT NULL,
                    severity TEXT NOT NULL,
                    report_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX runs_timestamp ON runs (timestamp_ms)",
                "CREATE INDEX runs_target_timestamp ON runs (target, timestamp_ms)",
            ]
        ),
        // The ping summary of each run as numbers, so the dashboard's latency graph aggregates
        // columns in SQL (Dashboard/HistoryColumns.swift) without parsing every report's JSON.
        // Runs stored before this step keep NULL here: their score still shows, not their RTT.
        SchemaMigration(
            version: 2,
            description: "ping loss and RTT columns for the dashboard",
            sqlite: [
                "ALTER TABLE runs ADD COLUMN ping_loss_percent REAL",
                "ALTER TABLE runs ADD COLUMN ping_rtt_avg_ms REAL",
                "ALTER TABLE runs ADD COLUMN ping_rtt_max_ms REAL",
            ],
            postgres: [
                "ALTER TABLE runs ADD COLUMN ping_loss_percent DOUBLE PRECISION",
                "ALTER TABLE runs ADD COLUMN ping_rtt_avg_ms DOUBLE PRECISION",
                "ALTER TABLE runs ADD COLUMN ping_rtt_max_ms DOUBLE PRECISION",
            ]
        ),
        // Incidents (Incidents/IncidentRecorder.swift): the incident as JSON plus the columns the
        // API filters and sorts on and the retention job deletes by (closed ones only).
        SchemaMigration(
            version: 3,
            description: "incidents table",
            sqlite: [
                """
                CREATE TABLE incidents (
                    id TEXT PRIMARY KEY NOT NULL,
                    target TEXT NOT NULL,
                    state TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    started_at_ms INTEGER NOT NULL,
                    ended_at_ms INTEGER,
                    incident_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX incidents_started ON incidents (started_at_ms)",
                "CREATE INDEX incidents_target_started ON incidents (target, started_at_ms)",
                "CREATE INDEX incidents_state ON incidents (state, ended_at_ms)",
            ],
            postgres: [
                """
                CREATE TABLE incidents (
                    id TEXT PRIMARY KEY,
                    target TEXT NOT NULL,
                    state TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    started_at_ms BIGINT NOT NULL,
                    ended_at_ms BIGINT,
                    incident_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX incidents_started ON incidents (started_at_ms)",
                "CREATE INDEX incidents_target_started ON incidents (target, started_at_ms)",
                "CREATE INDEX incidents_state ON incidents (state, ended_at_ms)",
            ]
        ),
        // Path changes (issue 20 item 8): each run's path fingerprint (`PathFingerprint.text`,
        // NULL without a trace) and one row per run whose path left the target's previous
        // run's, written in the run's own insert transaction (Store/PathChanges.swift).
        // Version 3 is the incidents step (issue 22); this one is numbered after it.
        SchemaMigration(
            version: 4,
            description: "path fingerprint per run and path_changes",
            sqlite: [
                "ALTER TABLE runs ADD COLUMN path_fingerprint TEXT",
                """
                CREATE TABLE path_changes (
                    run_id TEXT PRIMARY KEY NOT NULL,
                    target TEXT NOT NULL,
                    timestamp_ms INTEGER NOT NULL,
                    previous_run_id TEXT NOT NULL,
                    hop INTEGER NOT NULL,
                    from_addresses TEXT NOT NULL,
                    to_addresses TEXT NOT NULL,
                    previous_path TEXT NOT NULL,
                    path TEXT NOT NULL
                )
                """,
                "CREATE INDEX path_changes_timestamp ON path_changes (timestamp_ms)",
                "CREATE INDEX path_changes_target_timestamp ON path_changes (target, timestamp_ms)",
            ],
            postgres: [
                "ALTER TABLE runs ADD COLUMN path_fingerprint TEXT",
                """
                CREATE TABLE path_changes (
                    run_id TEXT PRIMARY KEY,
                    target TEXT NOT NULL,
                    timestamp_ms BIGINT NOT NULL,
                    previous_run_id TEXT NOT NULL,
                    hop INTEGER NOT NULL,
                    from_addresses TEXT NOT NULL,
                    to_addresses TEXT NOT NULL,
                    previous_path TEXT NOT NULL,
                    path TEXT NOT NULL
                )
                """,
                "CREATE INDEX path_changes_timestamp ON path_changes (timestamp_ms)",
                "CREATE INDEX path_changes_target_timestamp ON path_changes (target, timestamp_ms)",
            ]
        ),
        // Vantage points (issue 21): where the monitor that made each run stands
        // (`RunReport.vantage`), NULL for runs stored before this step or made without one.
        // Filtered by `GET /api/v1/runs?vantage=`; the cross-vantage verdict reads the newest
        // run of each vantage of a target (index on target, vantage, time).
        SchemaMigration(
            version: 5,
            description: "vantage of each run",
            sqlite: [
                "ALTER TABLE runs ADD COLUMN vantage TEXT",
                "CREATE INDEX runs_target_vantage_timestamp ON runs (target, vantage, timestamp_ms)",
            ],
            postgres: [
                "ALTER TABLE runs ADD COLUMN vantage TEXT",
                "CREATE INDEX runs_target_vantage_timestamp ON runs (target, vantage, timestamp_ms)",
            ]
        ),
        // Replicas sharing a vantage's targets (Store/TargetLeases.swift): who checks which target,
        // until when (renewed by the holder's heartbeat), and which replicas are alive. Times are
        // the server's clock, so the replicas' clocks need not agree. PostgreSQL only: a SQLite
        // history has one monitor, which checks every target.
        SchemaMigration(
            version: 6,
            description: "target leases and replica heartbeats (PostgreSQL)",
            sqlite: [],
            postgres: [
                """
                CREATE TABLE target_leases (
                    target TEXT NOT NULL,
                    vantage TEXT NOT NULL,
                    holder TEXT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (target, vantage)
                )
                """,
                "CREATE INDEX target_leases_holder ON target_leases (vantage, holder)",
                """
                CREATE TABLE monitor_replicas (
                    replica TEXT PRIMARY KEY,
                    vantage TEXT NOT NULL,
                    seen_at TIMESTAMPTZ NOT NULL
                )
                """,
            ]
        ),
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { all.last?.version ?? 0 }
}
