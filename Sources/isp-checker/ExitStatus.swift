import ArgumentParser
import FoundationEssentials
import ISPChecker

/// Exit statuses scripts can rely on. Checks: 0 ok, 1 warn, 2 crit (the worst probe status).
/// Errors are 64 and above, from sysexits.h, so they never read as a check result.
enum ExitStatus {
    static let ok: Int32 = 0
    static let warn: Int32 = 1
    static let crit: Int32 = 2
    /// EX_USAGE: bad arguments or options.
    static let usage: Int32 = 64
    /// EX_NOINPUT: an input file cannot be read.
    static let noInput: Int32 = 66
    /// EX_NOHOST: the target's name does not resolve.
    static let noHost: Int32 = 68
    /// EX_UNAVAILABLE: the system refused (no route, no such namespace, family unavailable).
    static let unavailable: Int32 = 69
    /// EX_SOFTWARE: anything else.
    static let software: Int32 = 70
    /// EX_NOPERM: missing privileges (CAP_NET_RAW, ping_group_range).
    static let noPermission: Int32 = 77

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
    /// The exit status for a library error.
    static func code(for error: any Error) -> Int32 {
        if let serviceError = error as? ServiceProbeError { return code(for: serviceError) }
        if let privilegeError = error as? PrivilegeError { return code(for: privilegeError) }
        guard let probeError = error as? ProbeError else { return software }
        return code(for: probeError)
    }

    static func code(for error: ServiceProbeError) -> Int32 {
        switch error {
        case .emptyName, .malformedName, .invalidResolver, .malformedURL, .unsupportedScheme, .malformedTarget, .invalidArgument: return usage
        case .unresolvableHost: return noHost
        case .unreadableTargets: return noInput
        case .namespaceUnavailable, .systemError: return unavailable
        case .cancelled: return software
        }
    }

    static func code(for error: PrivilegeError) -> Int32 {
        switch error {
        case .invalidAccount, .unknownUser, .unknownGroup, .rootAccount: return usage
        case .setUserIDInstall, .storeNotWritable: return noPermission
        case .threadKeepsPrivileges, .systemError: return software
        }
    }

    static func code(for error: ProbeError) -> Int32 {
        switch error {
        case .emptyTarget, .malformedTarget, .invalidArgument: return usage
        case .unresolvableTarget: return noHost
        case .permissionDenied: return noPermission
        case .unreadableCapture: return noInput
        case .addressFamilyUnavailable, .namespaceUnavailable, .systemError: return unavailable
        case .engineShutDown, .cancelled: return software
        }
    }
}
