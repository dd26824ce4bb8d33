import Foundation

/// The repository root, found from this file's path (Tests/TestSupport/Environment.swift).
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Whether this process is root: the lab tests build network namespaces, the PostgreSQL and
/// Prometheus tests start servers as other users.
public let isRoot = getuid() == 0
