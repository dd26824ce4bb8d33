import ArgumentParser

// The commands a user runs most, read without ArgumentParser's general machinery.
//
// ArgumentParser builds every command's argument set by reflecting over an instance (Mirror),
// decodes it through Codable, and first tries the arguments as a completion-script request:
// each step instantiates generic metadata and looks up protocol conformances, which the Swift
// runtime finds by scanning every conformance record of the binary (4,400 in this static
// one). On this machine kind that is 2 ms of CPU for `trace 10.99.4.2` and 0.9 ms for
// `--version`: more than the whole trace of a short path (docs/benchmarks.md, issue 17).
//
// So `isp-checker --version`, and a `trace` or a `sweep` (without trace options) whose arguments are all plain (`--name value`,
// `--name=value`, `-x value`, flags, one target) are read here; anything else (help, an
// unknown or repeated option, a value that starts with '-', a value that does not convert, a
// failed validation) goes to ArgumentParser, which reads it as always and words its errors.
// CLITests checks that both readings give the same command for every option.

enum QuickParse {
    /// `--version` alone: the version ArgumentParser would print.
    static func isVersionRequest(_ arguments: [String]) -> Bool {
        arguments == ["--version"]
    }

    /// The plain options and flags of a command, by every spelling, and what was given.
    struct Plain {
        /// Options that take a value: spelling -> key.
        let options: [String: String]
        /// Flags: spelling -> key.
        let flags: [String: String]
        private(set) var values: [String: String] = [:]
        private(set) var setFlags: Set<String> = []
        private(set) var positionals: [String] = []

        init(options: [String: String], flags: [String: String]) {
            self.options = options
            self.flags = flags
        }

        /// Reads `arguments`; false when one of them is not plain.
        mutating func read(_ arguments: ArraySlice<String>) -> Bool {
            var rest = arguments[...]
            while let token = rest.popFirst() {
                guard token.hasPrefix("-") else {
                    guard !token.isEmpty else { return false }
                    positionals.append(token)
                    continue
                }
                var name = token
                var inline: String?
                if token.hasPrefix("--"), let equals = token.firstIndex(of: "=") {
                    name = String(token[..<equals])
                    inline = String(token[token.index(after: equals)...])
                }
                if let key = options[name] {
                    guard values[key] == nil, let value = inline ?? rest.popFirst(),
                          !value.isEmpty, !value.hasPrefix("-") else { return false }
                    values[key] = value
                } else if let key = flags[name], inline == nil {
                    guard setFlags.insert(key).inserted else { return false }
                } else {
                    return false
                }
            }
            return true
        }

        func flag(_ key: String) -> Bool { setFlags.contains(key) }

        /// The value of `key` converted as ArgumentParser converts it, `defaultValue` when not
        /// given; nil when given but not convertible.
        func value<T: ExpressibleByArgument>(_ key: String, default defaultValue: T) -> T? {
            guard let text = values[key] else { return defaultValue }
            return T(argument: text)
        }

        /// An optional option: `.some(nil)` when not given, nil when given but not convertible.
        func optional<T: ExpressibleByArgument>(_ key: String, _: T.Type = T.self) -> T?? {
            guard let text = values[key] else { return .some(nil) }
            return T(argument: text).map { .some($0) }
        }
    }
}

extension QuickParse {
    /// The plain options of `EngineOptions` (with `PrivilegeOptions`), by every spelling.
    static let engineOptions: [String: String] = [
        "--netns": "netns", "--capture-interface": "capture-interface", "--user": "user",
    ]
    static let engineFlags: [String: String] = [
        "--no-capture": "no-capture", "--capture": "capture", "--unprivileged": "unprivileged",
        "--keep-capabilities": "keep-capabilities",
    ]

    /// The engine options `plain` read, validated as ArgumentParser validates the group; nil
    /// when a value does not convert or the group is not valid.
    static func engine(_ plain: Plain) -> EngineSettings? {
        guard let networkNamespace = plain.optional("netns", String.self),
              let captureInterface = plain.optional("capture-interface", String.self),
              let user = plain.optional("user", String.self)
        else { return nil }
        let settings = EngineSettings(
            networkNamespace: networkNamespace, noCapture: plain.flag("no-capture"), capture: plain.flag("capture"),
            captureInterface: captureInterface, unprivileged: plain.flag("unprivileged"),
            keepCapabilities: plain.flag("keep-capabilities"), user: user)
        do { try settings.validate() } catch { return nil }
        return settings
    }

    /// `settings` in ArgumentParser's option group, for a command that keeps one.
    static func engineOptionGroup(_ settings: EngineSettings) -> EngineOptions {
        var privileges = PrivilegeOptions()
        privileges.user = settings.user
        var engine = EngineOptions()
        engine.networkNamespace = settings.networkNamespace
        engine.noCapture = settings.noCapture
        engine.capture = settings.capture
        engine.captureInterface = settings.captureInterface
        engine.unprivileged = settings.unprivileged
        engine.keepCapabilities = settings.keepCapabilities
        engine.privileges = privileges
        return engine
    }
}

extension SweepCommand {
    /// `sweep` with plain arguments and no trace options (those go to ArgumentParser),
    /// validated; nil for anything ArgumentParser must read. CLITests compares every field.
    static func quickParse(_ arguments: [String]) -> SweepCommand? {
        guard arguments.first == "sweep" else { return nil }
        var plain = QuickParse.Plain(
            options: [
                "--targets": "targets", "--rate": "rate", "-c": "count", "-W": "timeout", "--timeout": "timeout",
                "-s": "size", "--size": "size",
            ].merging(QuickParse.engineOptions) { first, _ in first },
            flags: ["--json": "json", "-q": "quiet", "--quiet": "quiet"].merging(QuickParse.engineFlags) { first, _ in first })
        guard plain.read(arguments.dropFirst()),
              let targetsFile = plain.optional("targets", String.self),
              let rate = plain.value("rate", default: 1_000),
              let count = plain.value("count", default: 1),
              let timeout = plain.value("timeout", default: 1.0),
              let size = plain.value("size", default: 56),
              let engine = QuickParse.engine(plain)
        else { return nil }
        var tracing = SweepTraceArguments()
        tracing.trace = false
        tracing.traceAll = false
        tracing.traceConcurrency = nil
        tracing.maxHops = nil
        tracing.traceMethod = nil
        tracing.tracePort = nil
        tracing.traceTimeout = nil
        tracing.traceRate = nil
        var command = SweepCommand()
        command.targets = plain.positionals
        command.targetsFile = targetsFile
        command.rate = rate
        command.count = count
        command.timeout = timeout
        command.size = size
        command.json = plain.flag("json")
        command.quiet = plain.flag("quiet")
        command.tracing = tracing
        command.engineOptions = QuickParse.engineOptionGroup(engine)
        do {
            try tracing.validate()
            try command.validate()
        } catch {
            return nil // ArgumentParser reads them again and words the error
        }
        return command
    }
}

extension TraceCommand {
    /// `trace` with plain arguments (see the top of this file), validated, as plain values (no
    /// TraceCommand is built); nil for anything ArgumentParser must read. The defaults are
    /// TraceRequest's (TraceCommand's): CLITests compares every field with ArgumentParser's
    /// reading.
    static func quickParse(_ arguments: [String]) -> TraceRequest? {
        guard arguments.first == "trace" else { return nil }
        var plain = QuickParse.Plain(
            options: [
                "-M": "method", "--method": "method", "-p": "port", "--port": "port",
                "-m": "max-hops", "--max-hops": "max-hops", "-f": "first-hop", "--first-hop": "first-hop",
                "-c": "rounds", "--rounds": "rounds", "-W": "timeout", "--timeout": "timeout",
                "--rate": "rate", "-i": "interval", "--interval": "interval", "--color": "color",
            ].merging(QuickParse.engineOptions) { first, _ in first },
            flags: [
                "--full-wait": "full-wait", "--classic": "classic", "-r": "resolve", "--resolve": "resolve",
                "--no-path-cache": "no-path-cache", "-4": "ipv4", "-6": "ipv6", "--json": "json", "--report": "report",
            ].merging(QuickParse.engineFlags) { first, _ in first })
        guard plain.read(arguments.dropFirst()), plain.positionals.count == 1, let engine = QuickParse.engine(plain) else { return nil }
        var request = TraceRequest(target: plain.positionals[0], engine: engine)
        guard let method = plain.value("method", default: request.method),
              let port = plain.optional("port", UInt16.self),
              let maxHops = plain.value("max-hops", default: request.maxHops),
              let firstHop = plain.value("first-hop", default: request.firstHop),
              let rounds = plain.optional("rounds", Int.self),
              let timeout = plain.value("timeout", default: request.timeout),
              let rate = plain.value("rate", default: request.rate),
              let interval = plain.value("interval", default: request.interval),
              let color = plain.value("color", default: request.color)
        else { return nil }
        request.method = method
        request.port = port
        request.maxHops = maxHops
        request.firstHop = firstHop
        request.rounds = rounds
        request.timeout = timeout
        request.rate = rate
        request.interval = interval
        request.fullWait = plain.flag("full-wait")
        request.classic = plain.flag("classic")
        request.resolve = plain.flag("resolve")
        request.noPathCache = plain.flag("no-path-cache")
        request.ipv4 = plain.flag("ipv4")
        request.ipv6 = plain.flag("ipv6")
        request.json = plain.flag("json")
        request.report = plain.flag("report")
        request.color = color
        do { try request.validate() } catch {
            return nil // ArgumentParser reads them again and words the error
        }
        return request
    }
}
