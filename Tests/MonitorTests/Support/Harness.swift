import Foundation
import TestSupport

/// A fresh temporary directory.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("\(FileManager.default.temporaryDirectory.path)/\(prefix)-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw HarnessError.failed("mkdtemp failed: errno \(errno)") }
    return String(cString: path)
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Runs blocking work (waitpid, blocking sockets) on its own thread, so it never holds one of
/// the few threads of Swift's cooperative pool that the servers under test need.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
