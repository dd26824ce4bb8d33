import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Leaving every privilege behind, for the whole process, once the privileged descriptors are
/// open (docs/deployment.md).
///
/// Linux keeps capabilities and `PR_SET_NO_NEW_PRIVS` per thread, and a new thread inherits its
/// creator's; only the user and group ids are changed for every thread at once (by glibc). So an
/// executable drops in this order, on its main thread, before the Swift concurrency pool or any
/// library (HTTP server, database, DNS/HTTP probe) has started a thread:
///
/// 1. `refuseSetUserIDInstall()` first thing;
/// 2. `enterNetworkNamespace(_:)` when probing from another namespace (threads created later
///    are born inside it);
/// 3. open what needs privileges: a `ProbeEngine` with `enginePolicy` (its own thread drops its
///    own capabilities, but for the two that changing the user needs and clears);
///    `handOver(databaseFile:to:)` for a store that the new user must write;
/// 4. `drop(to:)`: the main thread's capabilities, the user and group when started as root,
///    then a check of every thread in `/proc/self/task`, which fails if any thread still holds
///    a capability, uid/gid 0 (when started as root) or lacks `NoNewPrivs`.
public enum ProcessPrivileges {
    /// The user and group a process started as root continues as.
    public struct Account: Sendable, Equatable, CustomStringConvertible {
        public var user: String
        /// `nil`: the user's primary group (`nogroup` for Debian's `nobody`).
        public var group: String?

        public init(user: String, group: String? = nil) {
            self.user = user
            self.group = group
        }

        /// `nobody` with its primary group, `nogroup` on Debian.
        public static let `default` = Account(user: "nobody")

        /// `USER` or `USER:GROUP`, names or numeric ids.
        public init(parsing text: String) throws(PrivilegeError) {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let user = parts.first, !user.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
                throw .invalidAccount(text)
            }
            self.init(user: user, group: parts.count == 2 ? parts[1] : nil)
        }

        public var description: String { group.map { "\(user):\($0)" } ?? user }

        /// The numeric ids, from the password and group databases (read now, while the files
        /// are surely readable). Root (0) is refused: the point is to leave it.
        public func resolve() throws(PrivilegeError) -> (uid: uid_t, gid: gid_t) {
            var uid: uid_t
            var primaryGroup: gid_t?
            if let entry = getpwnam(user) {
                uid = entry.pointee.pw_uid
                primaryGroup = entry.pointee.pw_gid
            } else if let number = UInt32(user) {
                uid = number
                primaryGroup = getpwuid(number).map { $0.pointee.pw_gid }
            } else {
                throw .unknownUser(user)
            }
            let gid: gid_t
            if let group {
                if let entry = getgrnam(group) { gid = entry.pointee.gr_gid } else if let number = UInt32(group) { gid = number } else {
                    throw .unknownGroup(group)
                }
            } else {
                guard let primaryGroup else { throw .unknownGroup("primary group of \(user)") }
                gid = primaryGroup
            }
            guard uid != 0, gid != 0 else { throw .rootAccount(description) }
            return (uid, gid)
        }
    }

    /// What a process holds after `drop(to:)`, as read from every thread.
    public struct Outcome: Sendable, Equatable {
        public var threads: Int
        /// Whether the process was started as root and now runs as `uid`/`gid`.
        public var switchedUser: Bool
        public var uid: uid_t
        public var gid: gid_t
    }

    /// How a `ProbeEngine` opened before `drop(to:)` treats its own thread's capabilities:
    /// started as root it keeps only what changing the user takes (which then clears them),
    /// otherwise it drops everything.
    public static var enginePolicy: EngineConfiguration.CapabilityPolicy { startedAsRoot ? .dropAllButUserChange : .dropOnEngineThread }

    /// Whether this process was started with uid 0 (sudo, systemd without `User=`).
    public static var startedAsRoot: Bool { getuid() == 0 || geteuid() == 0 }

    /// Refuses a set-user-ID or set-group-ID install: its caller, not root, chose the
    /// arguments, the environment and the files, so nothing it asks for can be trusted with
    /// root. File capabilities (`setcap cap_net_raw+ep`) are the way to run without sudo.
    public static func refuseSetUserIDInstall() throws(PrivilegeError) {
        if getuid() != geteuid() || getgid() != getegid() {
            throw .setUserIDInstall(realUID: getuid(), effectiveUID: geteuid())
        }
    }

    /// Moves the calling thread, and so every thread it creates from now on, into a network
    /// namespace (a name under /var/run/netns or a path). Call on the main thread before any
    /// other thread exists; probes that ask for the same namespace later find themselves in
    /// it already and need no privilege for it.
    public static func enterNetworkNamespace(_ name: String) throws(ProbeError) {
        let path = networkNamespacePath(name)
        let result = cp_netns_enter(path)
        if result < 0 { throw .namespaceUnavailable(name, errno: -result) }
    }

    /// Gives a database file, its SQLite companions (`-wal`, `-shm`, `-journal`) and, when it
    /// holds nothing else, its directory to `account`, so that the store keeps working after
    /// `drop(to:)`. A directory shared with other files is never handed over: it must already
    /// let the user write (or the store is opened read-only and fails with a clear error).
    /// Does nothing unless started as root.
    public static func handOver(databaseFile path: String, to account: Account) throws(PrivilegeError) {
        guard startedAsRoot else { return }
        let (uid, gid) = try account.resolve()
        let directory = parentFolder(of: path)
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        let own = Set([name, name + "-wal", name + "-shm", name + "-journal"])
        var info = stat()
        if stat(directory, &info) != 0 {
            // A directory of its own, made now.
            guard errno == ENOENT, mkdir(directory, 0o750) == 0 else {
                throw .storeNotWritable(path: path, account: account.description, reason: "cannot create \(directory): \(ProbeError.describe(errno: errno))")
            }
            guard chown(directory, uid, gid) == 0 else {
                throw .storeNotWritable(path: path, account: account.description, reason: "chown \(directory): \(ProbeError.describe(errno: errno))")
            }
        } else {
            let entries = try directoryEntries(directory, for: path, account: account)
            if info.st_uid != uid && entries.isSubset(of: own) {
                guard chown(directory, uid, gid) == 0 else {
                    throw .storeNotWritable(path: path, account: account.description, reason: "chown \(directory): \(ProbeError.describe(errno: errno))")
                }
            } else {
                // SQLite creates its journal next to the database: the directory must be writable.
                let mode = info.st_mode
                let writable = info.st_uid == uid ? mode & S_IWUSR != 0 : info.st_gid == gid ? mode & S_IWGRP != 0 : mode & S_IWOTH != 0
                guard writable else {
                    throw .storeNotWritable(path: path, account: account.description,
                                            reason: "\(directory) holds other files too and is not writable by \(account)")
                }
            }
        }
        // The user must be able to reach it: every folder above must let it in.
        var above = directory
        while above.contains("/"), above != "/" {
            above = parentFolder(of: above)
            var folder = stat()
            guard stat(above, &folder) == 0 else { break }
            let mode = folder.st_mode
            let searchable = folder.st_uid == uid ? mode & S_IXUSR != 0 : folder.st_gid == gid ? mode & S_IXGRP != 0 : mode & S_IXOTH != 0
            guard searchable else {
                throw .storeNotWritable(path: path, account: account.description, reason: "\(above) cannot be entered by \(account)")
            }
        }
        for file in own {
            let filePath = directory == "/" ? "/\(file)" : "\(directory)/\(file)"
            var fileInfo = stat()
            // lstat: a symbolic link planted next to the database is not followed to its target.
            guard lstat(filePath, &fileInfo) == 0 else { continue }
            guard (fileInfo.st_mode & S_IFMT) == S_IFREG else {
                throw .storeNotWritable(path: path, account: account.description, reason: "\(filePath) is not a regular file")
            }
            if fileInfo.st_uid != uid && lchown(filePath, uid, gid) != 0 {
                throw .storeNotWritable(path: path, account: account.description, reason: "chown \(filePath): \(ProbeError.describe(errno: errno))")
            }
        }
    }

    private static func directoryEntries(_ directory: String, for path: String, account: Account) throws(PrivilegeError) -> Set<String> {
        guard let handle = opendir(directory) else {
            throw .storeNotWritable(path: path, account: account.description, reason: "cannot read \(directory): \(ProbeError.describe(errno: errno))")
        }
        defer { closedir(handle) }
        var names = Set<String>()
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.insert(name) }
        }
        return names
    }

    /// Drops every privilege of the process for good: the calling thread's capabilities
    /// (bounding set included when CAP_SETPCAP allows), `PR_SET_NO_NEW_PRIVS`, and, when
    /// started as root, the user and group (to `account`, with no supplementary groups).
    /// Then reads every thread's status and throws `threadKeepsPrivileges` when any thread
    /// holds a capability, lacks `NoNewPrivs`, or (started as root) still has uid or gid 0.
    @discardableResult
    public static func drop(to account: Account = .default) throws(PrivilegeError) -> Outcome {
        let root = startedAsRoot
        var ids: (uid: uid_t, gid: gid_t) = (getuid(), getgid())
        if root { ids = try account.resolve() }
        var state = cp_process_privileges()
        if root {
            // glibc aborts the process when one thread may not change its ids: say why instead.
            let read = cp_process_privileges_read(&state)
            if read < 0 { throw .systemError(operation: "reading /proc/self/task/*/status", errno: -read) }
            if state.threads_able_to_change_ids != state.threads {
                throw .threadKeepsPrivileges(threads: Int(state.threads), kept: "\(state.threads - state.threads_able_to_change_ids) may not change user (open the engine with ProcessPrivileges.enginePolicy)")
            }
        }
        let result = cp_privileges_drop(root ? 1 : 0, ids.uid, ids.gid)
        if result < 0 { throw .systemError(operation: root ? "changing to \(account)" : "dropping capabilities", errno: -result) }
        let read = cp_process_privileges_read(&state)
        if read < 0 { throw .systemError(operation: "reading /proc/self/task/*/status", errno: -read) }
        var kept: [String] = []
        if state.effective != 0 { kept.append("CapEff \(hex(state.effective))") }
        if state.permitted != 0 { kept.append("CapPrm \(hex(state.permitted))") }
        if state.ambient != 0 { kept.append("CapAmb \(hex(state.ambient))") }
        // Emptying the bounding set needs CAP_SETPCAP, which only root had; without it
        // NoNewPrivs is what keeps an execve() from granting anything.
        if root && state.bounding != 0 { kept.append("CapBnd \(hex(state.bounding))") }
        if state.threads_without_no_new_privs != 0 { kept.append("\(state.threads_without_no_new_privs) without NoNewPrivs") }
        if root && state.threads_with_uid_0 != 0 { kept.append("\(state.threads_with_uid_0) with uid 0") }
        if root && state.threads_with_gid_0 != 0 { kept.append("\(state.threads_with_gid_0) with gid 0") }
        guard kept.isEmpty else { throw .threadKeepsPrivileges(threads: Int(state.threads), kept: kept.joined(separator: ", ")) }
        return Outcome(threads: Int(state.threads), switchedUser: root, uid: ids.uid, gid: ids.gid)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}

/// Why a process could not leave its privileges behind. Each case says what to do.
public enum PrivilegeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Installed set-user-ID or set-group-ID (real and effective ids differ).
    case setUserIDInstall(realUID: uid_t, effectiveUID: uid_t)
    /// `--user` / `user:` is not `USER` or `USER:GROUP`.
    case invalidAccount(String)
    case unknownUser(String)
    case unknownGroup(String)
    /// The account asked for is root itself.
    case rootAccount(String)
    /// The store cannot be made writable for the account the process continues as.
    case storeNotWritable(path: String, account: String, reason: String)
    /// A thread still holds a privilege after the drop: a thread was started before it.
    case threadKeepsPrivileges(threads: Int, kept: String)
    case systemError(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .setUserIDInstall(let real, let effective):
            return "refusing to run set-user-ID (real uid \(real), effective uid \(effective)): remove the set-user-ID bit (chmod u-s,g-s) and grant CAP_NET_RAW with 'setcap cap_net_raw+ep' instead (docs/deployment.md)"
        case .invalidAccount(let text):
            return "invalid user '\(text)': give USER or USER:GROUP"
        case .unknownUser(let user):
            return "no such user '\(user)': create it or choose another with --user (user: in the configuration)"
        case .unknownGroup(let group):
            return "no such group '\(group)': choose another with --user USER:GROUP"
        case .rootAccount(let account):
            return "--user \(account) is root: a process started as root continues as an unprivileged user; choose one such as nobody"
        case .storeNotWritable(let path, let account, let reason):
            return "the store \(path) cannot be handed to \(account), which the monitor continues as after start: \(reason); put the database in a directory of its own (such as /var/lib/isp-checker) or make it writable by \(account)"
        case .threadKeepsPrivileges(let threads, let kept):
            return "privileges remain after dropping them (\(threads) threads; \(kept)): a thread was started before the drop; this is a bug, please report it"
        case .systemError(let operation, let code):
            return "\(operation) failed: \(ProbeError.describe(errno: code))"
        }
    }
}
