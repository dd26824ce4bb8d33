/// The exit statuses of `isp-checker` and `isp-checker-monitor`, so scripts can rely on them.
/// A check: 0 ok, 1 warn, 2 crit (the worst probe status). Errors are 64 and above, from
/// sysexits.h, so they never read as a check result.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let warn: Int32 = 1
    public static let crit: Int32 = 2
    /// EX_USAGE: bad arguments, options or configuration.
    public static let usage: Int32 = 64
    /// EX_NOINPUT: an input file cannot be read.
    public static let noInput: Int32 = 66
    /// EX_NOHOST: the target's name does not resolve.
    public static let noHost: Int32 = 68
    /// EX_UNAVAILABLE: the system refused (no route, no such namespace, family unavailable).
    public static let unavailable: Int32 = 69
    /// EX_SOFTWARE: anything else.
    public static let software: Int32 = 70
    /// EX_CANTCREAT: a file the program keeps (the monitor's spool) cannot be created or opened.
    public static let cannotCreate: Int32 = 73
    /// EX_NOPERM: missing privileges (CAP_NET_RAW, ping_group_range), or privileges that cannot be dropped.
    public static let noPermission: Int32 = 77
}
