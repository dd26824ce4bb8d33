import ArgumentParser
import Foundation
import ISPChecker
import ISPCheckerMonitor

/// `isp-checker-monitor backup --sqlite DB --to FILE`: an online backup of the SQLite history,
/// consistent while the monitor writes (docs/operations.md). Prints what `verify` says of the
/// copy. Exit 0, 64 (usage), 65 (the history is damaged or not one), 66 (cannot read it), 73
/// (cannot write the backup).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the SQLite run history to a file while the monitor runs (SQLite online backup), then verify the copy.",
        discussion: "The copy is written as FILE.partial and renamed to FILE once verified. PostgreSQL: use pg_dump (docs/operations.md).")

    @Option(name: .customLong("sqlite"), help: "The monitor's SQLite database file.")
    var sqlitePath: String

    @Option(name: .customLong("to"), help: "The backup file to write (replaced atomically if it exists).")
    var destination: String

    @Flag(help: "Print the verification as JSON.")
    var json = false

    func validate() throws { try refuseSetUserID() }

    func run() throws {
        let verification = try reportingFailure { () throws(SQLiteBackupError) in
            try SQLiteBackup.backup(from: sqlitePath, to: destination)
        }
        printVerification(verification, json: json, heading: "backed up \(sqlitePath) to \(destination)")
    }
}

/// `isp-checker-monitor restore --from FILE --sqlite DB [--force]`: verifies the backup and
/// puts it in place as the history (stop the monitor first when DB exists).
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Verify a backup and restore it as the SQLite run history (stop the monitor first).",
        discussion: "An existing database is replaced only with --force. The restore is one SQLite transaction: interrupted, the old history stays as it was.")

    @Option(name: .customLong("from"), help: "The backup file (written by backup).")
    var backup: String

    @Option(name: .customLong("sqlite"), help: "The SQLite database file to restore into.")
    var sqlitePath: String

    @Flag(help: "Replace an existing database.")
    var force = false

    @Flag(help: "Print the verification as JSON.")
    var json = false

    func validate() throws { try refuseSetUserID() }

    func run() throws {
        let verification = try reportingFailure { () throws(SQLiteBackupError) in
            try SQLiteBackup.restore(from: backup, to: sqlitePath, replacing: force)
        }
        printVerification(verification, json: json, heading: "restored \(backup) to \(sqlitePath)")
    }
}

/// `isp-checker-monitor verify --sqlite FILE`: integrity check, row counts of every table,
/// schema versions, newest run. Exit 0 when the file is a sound run history, 65 when not.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a SQLite run history or a backup of one: integrity, row counts, schema versions, newest run.",
        discussion: "Opens the file read-only; safe while the monitor runs. Exit 0 when sound, 65 when damaged or not a run history, 66 when unreadable.")

    @Option(name: .customLong("sqlite"), help: "The SQLite database or backup file to check.")
    var sqlitePath: String

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws { try refuseSetUserID() }

    func run() throws {
        let verification = try reportingFailure { () throws(SQLiteBackupError) in try SQLiteBackup.verify(sqlitePath) }
        printVerification(verification, json: json, heading: nil)
    }
}

/// A set-user-ID install would read and write as root what its caller names.
private func refuseSetUserID() throws {
    do { try ProcessPrivileges.refuseSetUserIDInstall() } catch {
        FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
        throw ExitCode(ExitStatus.noPermission)
    }
}

/// Runs `body`; a failure is printed as one line on standard error and becomes its exit code.
private func reportingFailure<T>(_ body: () throws(SQLiteBackupError) -> T) throws -> T {
    do throws(SQLiteBackupError) {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
        throw ExitCode(error.exitStatus)
    }
}

/// The verification as text (`FILE: ok`, then one line per fact) or as one JSON object.
private func printVerification(_ verification: SQLiteBackup.Verification, json: Bool, heading: String?) {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let document = VerificationJSON(verification)
        emitLine(String(decoding: (try? encoder.encode(document)) ?? Data("{}".utf8), as: UTF8.self))
        return
    }
    var lines: [String] = []
    if let heading { lines.append(heading) }
    lines.append("\(verification.path): ok (integrity_check ok)")
    lines.append("schema versions: \(verification.schemaVersions.map(String.init).joined(separator: ", "))")
    lines.append("tables: " + verification.tables.map { "\($0.name) \($0.rows)" }.joined(separator: ", "))
    if let newest = verification.newestRun {
        lines.append("newest run: \(newest.id) \(newest.target) \(VerificationJSON.iso8601(newest.timestampMilliseconds))")
    } else {
        lines.append("newest run: none")
    }
    lines.append("size: \(verification.bytes) bytes")
    emitLine(lines.joined(separator: "\n"))
}

/// `{"path", "integrity": "ok", "schema_versions", "tables": {name: rows}, "newest_run", "bytes"}`.
private struct VerificationJSON: Encodable {
    var path: String
    var integrity = "ok"
    var schemaVersions: [Int]
    var tables: [String: Int64]
    var newestRun: Newest?
    var bytes: Int64

    struct Newest: Encodable {
        var id: String
        var target: String
        var timestamp: String
    }

    init(_ verification: SQLiteBackup.Verification) {
        path = verification.path
        schemaVersions = verification.schemaVersions
        tables = Dictionary(uniqueKeysWithValues: verification.tables.map { ($0.name, $0.rows) })
        newestRun = verification.newestRun.map { Newest(id: $0.id, target: $0.target, timestamp: Self.iso8601($0.timestampMilliseconds)) }
        bytes = verification.bytes
    }

    enum CodingKeys: String, CodingKey {
        case path, integrity, tables, bytes
        case schemaVersions = "schema_versions"
        case newestRun = "newest_run"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(integrity, forKey: .integrity)
        try container.encode(schemaVersions, forKey: .schemaVersions)
        try container.encode(tables, forKey: .tables)
        try container.encode(newestRun, forKey: .newestRun)  // null when the history has no run
        try container.encode(bytes, forKey: .bytes)
    }

    static func iso8601(_ milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }
}
