import Foundation
import GRDB
import ISPCheckerPrimitives

/// Backups of the embedded (SQLite) run history: `backup`, `restore` and `verify`, as
/// `isp-checker-monitor backup|restore|verify` runs them (docs/operations.md).
///
/// A backup is SQLite's online backup API (https://www.sqlite.org/backup.html, through GRDB's
/// `backup(to:)`) run inside one read transaction of the source: in WAL mode a reader sees the
/// last commit before it started and never blocks the monitor's writer, so the copy is the
/// history as of one instant (every run acknowledged before the backup started is in it) while
/// the monitor keeps writing. The copy is every page of the file, so it holds every table,
/// whichever migrations made them; `verify` counts whatever tables it finds.
public enum SQLiteBackup {
    /// What `verify` found in a history file.
    public struct Verification: Sendable, Equatable {
        /// The file checked.
        public var path: String
        /// The schema versions recorded in `schema_migrations`, ascending.
        public var schemaVersions: [Int]
        /// Every table (SQLite's own `sqlite_*` aside) with its row count, by name.
        public var tables: [Table]
        /// The run with the newest timestamp, if there is one.
        public var newestRun: NewestRun?
        /// The file's size in bytes (page count × page size).
        public var bytes: Int64

        public struct Table: Sendable, Equatable {
            public var name: String
            public var rows: Int64
        }

        public struct NewestRun: Sendable, Equatable {
            public var id: String
            public var target: String
            /// Milliseconds since 1970-01-01T00:00:00Z.
            public var timestampMilliseconds: Int64
        }

        /// The row count of `table`, or `nil` when the file has no such table.
        public func rows(of table: String) -> Int64? { tables.first { $0.name == table }?.rows }
    }

    /// Copies the history at `source` (which the monitor may be writing) to `destination`:
    /// written beside it as `DESTINATION.partial`, verified, synced, and only then renamed
    /// over `destination`, so a crash or a failed check never leaves a half backup under the
    /// final name. The copy is a single file (rollback journal, no `-wal` beside it).
    @discardableResult
    public static func backup(from source: String, to destination: String) throws(SQLiteBackupError) -> Verification {
        try requireFile(source)
        if samePath(source, destination) {
            throw .sameFile(source)
        }
        let partial = destination + ".partial"
        unlink(partial)
        do {
            let reader = try openReadOnly(source)
            do {
                let writer = try DatabaseQueue(path: partial)
                try reader.backup(to: writer)
                // The copied header says WAL (the monitor's mode): make the backup one
                // self-contained file, the form it is copied and archived in.
                try writer.writeWithoutTransaction { db in
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
                }
                try writer.close()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
                throw SQLiteBackupError.damaged(source, [error.message ?? "\(error.resultCode)"])
            } catch {
                throw SQLiteBackupError.cannotWrite(partial, "\(error)")
            }
            try reader.close()
        } catch let error as SQLiteBackupError {
            unlink(partial)
            throw error
        } catch {
            unlink(partial)
            throw .unreadable(source, "\(error)")
        }
        let verification: Verification
        do throws(SQLiteBackupError) {
            verification = try verify(partial)
        } catch {
            unlink(partial)
            // What the copy lacks, the source lacks: name the file the user gave.
            switch error {
            case .damaged(_, let problems): throw .damaged(source, problems)
            case .notARunHistory(_, let reason): throw .notARunHistory(source, reason)
            default: throw error
            }
        }
        try syncFile(partial)
        guard rename(partial, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw .cannotWrite(destination, reason)
        }
        syncFolder(of: destination)
        var final = verification
        final.path = destination
        return final
    }

    /// Checks the history file at `path` without changing it: SQLite's `integrity_check`, that
    /// it is a run history (`runs` and `schema_migrations` tables), every table's row count,
    /// the schema versions and the newest run.
    public static func verify(_ path: String) throws(SQLiteBackupError) -> Verification {
        try requireFile(path)
        do {
            let queue = try openReadOnly(path)
            defer { try? queue.close() }
            return try queue.read { db throws -> Verification in
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                if problems != ["ok"] {
                    throw SQLiteBackupError.damaged(path, problems)
                }
                let names = try String.fetchAll(db, sql: """
                    SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name
                    """)
                for required in ["runs", "schema_migrations"] where !names.contains(required) {
                    throw SQLiteBackupError.notARunHistory(path, "it has no \(required) table")
                }
                let tables = try names.map { name in
                    Verification.Table(name: name, rows: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(name.quotedDatabaseIdentifier)") ?? 0)
                }
                let versions = try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version")
                let newest = try Row.fetchOne(db, sql: "SELECT id, target, timestamp_ms FROM runs ORDER BY timestamp_ms DESC, id DESC LIMIT 1")
                    .map { Verification.NewestRun(id: $0["id"], target: $0["target"], timestampMilliseconds: $0["timestamp_ms"]) }
                let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                return Verification(path: path, schemaVersions: versions, tables: tables, newestRun: newest, bytes: pages * pageSize)
            }
        } catch let error as SQLiteBackupError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            throw .damaged(path, [error.message ?? "\(error.resultCode)"])
        } catch {
            throw .unreadable(path, "\(error)")
        }
    }

    /// Puts the backup at `backup` in place as the history at `database`, after verifying the
    /// backup. An existing `database` is replaced only when `replacing` (stop the monitor
    /// first); the copy goes through SQLite (its locks, its journal), in one transaction, so an
    /// interrupted restore leaves the old history as it was. The result is in WAL mode, as the
    /// monitor keeps it, and is verified again.
    @discardableResult
    public static func restore(from backup: String, to database: String, replacing: Bool) throws(SQLiteBackupError) -> Verification {
        _ = try verify(backup)
        if samePath(backup, database) {
            throw .sameFile(backup)
        }
        let existed = FileManager.default.fileExists(atPath: database)
        if existed && !replacing {
            throw .destinationExists(database)
        }
        do {
            let reader = try openReadOnly(backup)
            defer { try? reader.close() }
            let writer = try DatabaseQueue(path: database)
            try reader.backup(to: writer)
            try writer.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try writer.close()
        } catch {
            if !existed { removeDatabase(database) }
            throw .cannotWrite(database, "\(error)")
        }
        return try verify(database)
    }

    /// Opens an existing file without the right to change it; the history's WAL (when the
    /// monitor has it open, or left one) is read too.
    private static func openReadOnly(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    private static func requireFile(_ path: String) throws(SQLiteBackupError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .missing(path, String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notARunHistory(path, "it is not a regular file") }
    }

    private static func samePath(_ first: String, _ second: String) -> Bool {
        var a = stat(), b = stat()
        guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    private static func syncFile(_ path: String) throws(SQLiteBackupError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .cannotWrite(path, String(cString: strerror(errno))) }
    }

    /// The rename is durable once the folder is synced.
    private static func syncFolder(of path: String) {
        let directory = open(parentFolder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }

    private static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }
}

/// Why a backup, restore or verify failed, and what to do.
public enum SQLiteBackupError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be looked at (EX_NOINPUT). Check the path.
    case missing(String, String)
    /// The file exists but SQLite cannot read it (permissions, locked for longer than 5 s).
    case unreadable(String, String)
    /// SQLite reads it but finds it damaged: `integrity_check`'s problems, or not a database
    /// at all. Restore an older backup.
    case damaged(String, [String])
    /// A readable SQLite file that is not an isp-checker run history.
    case notARunHistory(String, String)
    /// The backup or restored file cannot be written (folder missing, no space, permissions).
    case cannotWrite(String, String)
    /// `restore` would replace an existing history: stop the monitor and pass `--force`.
    case destinationExists(String)
    /// Source and destination are the same file.
    case sameFile(String)

    public var description: String {
        switch self {
        case .missing(let path, let reason):
            return "\(path): \(reason) (check the path)"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the database: \(reason) (check this user may read it and its folder)"
        case .damaged(let path, let problems):
            let shown = problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; … \(problems.count - 5) more" : "")
            return "\(path) is damaged: \(shown) (restore an older backup)"
        case .notARunHistory(let path, let reason):
            return "\(path) is not an isp-checker run history: \(reason)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason) (check the folder exists, has space and is writable)"
        case .destinationExists(let path):
            return "\(path) exists: stop the monitor, then pass --force to replace it with the backup"
        case .sameFile(let path):
            return "source and destination are the same file (\(path)): give another path"
        }
    }

    /// The sysexits(3) code the executable exits with.
    public var exitStatus: Int32 {
        switch self {
        case .missing: return 66  // EX_NOINPUT
        case .unreadable: return 66
        case .damaged, .notARunHistory: return 65  // EX_DATAERR
        case .cannotWrite, .destinationExists: return 73  // EX_CANTCREAT
        case .sameFile: return 64  // EX_USAGE
        }
    }
}
