import Foundation

/// Output of a finished command.
public struct CommandOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs a command to completion and captures its output.
///
/// With `check` (the default) a non-zero exit throws `HarnessError.failed` with the command
/// line, the status and the command's stderr and stdout.
@discardableResult
public func run(_ executable: String, _ arguments: [String], check: Bool = true) throws -> CommandOutput {
    let process = try Subprocess(executable, arguments)
    let status = process.wait()
    let output = CommandOutput(status: status, stdout: process.stdout, stderr: process.stderr)
    if check && output.status != 0 {
        throw HarnessError.failed("\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)\(output.stdout)")
    }
    return output
}

/// A step of a test's harness that failed, not the code under test: a command that could not
/// start or exited non-zero, a server that did not come up, a reply that could not be read.
/// The text says what failed, with the output that shows why.
public enum HarnessError: Error, CustomStringConvertible {
    case failed(String)
    public var description: String {
        switch self { case .failed(let text): return text }
    }
}
