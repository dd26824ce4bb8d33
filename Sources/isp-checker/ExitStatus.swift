import ArgumentParser
import FoundationEssentials
import ISPChecker

extension ExitStatus {
    static func of(_ status: ProbeStatus) -> ExitCode {
        switch status {
        case .ok: return ExitCode(ok)
        case .warn: return ExitCode(warn)
        case .crit: return ExitCode(crit)
        }
    }
}

/// Library errors as the CLI shows them: one line on stderr, and an exit status of 64 or more
/// that says what kind of error it was.
func CLIError(_ error: any Error) -> ExitCode {
    errorOutput("isp-checker: error: \(error)\n")
    return ExitCode(ExitStatus.code(for: error))
}

extension ExitStatus {
    /// The exit status for a library error: the one map from errors to exit statuses.
    static func code(for error: any Error) -> Int32 {
        if let error = error as? ProbeError {
            switch error {
            case .emptyTarget, .emptyName, .malformedTarget, .malformedName, .invalidResolver, .malformedURL, .unsupportedScheme,
                 .invalidArgument:
                return usage
            case .unresolvableTarget: return noHost
            case .permissionDenied: return noPermission
            case .unreadableCapture, .unreadableTargets: return noInput
            case .addressFamilyUnavailable, .namespaceUnavailable, .systemError: return unavailable
            case .engineShutDown, .cancelled: return software
            }
        }
        if let error = error as? ImportError {
            switch error {
            case .severalTargets: return usage
            case .unknownFormat, .malformed, .valueOutOfRange, .noMeasurement, .targetNotFound: return noInput
            }
        }
        if let error = error as? PrivilegeError {
            switch error {
            case .invalidAccount, .unknownUser, .unknownGroup, .rootAccount: return usage
            case .setUserIDInstall, .storeNotWritable: return noPermission
            case .threadKeepsPrivileges, .systemError: return software
            }
        }
        if error is TerminalError { return unavailable }
        return software
    }
}
