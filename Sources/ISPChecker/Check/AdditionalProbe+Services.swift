extension AdditionalProbe {
    /// A DNS probe of `name` through `options.resolvers`, as the `dns` entry of the report.
    /// Input the probe rejects (an empty or malformed name) becomes a `crit` entry with the error.
    public static func dns(_ name: String, type: DNSRecordType = .a, options: DNSProbeOptions = .default) -> AdditionalProbe {
        AdditionalProbe(name: ProbeName.dns) {
            do {
                return try await DNSProbe(options: options).query(name, type: type).report
            } catch {
                return .couldNotRun(ProbeName.dns, input: ("query", name), error: error)
            }
        }
    }

    /// An HTTP(S) probe of `url`, as the `http` entry of the report.
    public static func http(_ url: String, options: HTTPProbeOptions = .default) -> AdditionalProbe {
        AdditionalProbe(name: ProbeName.http) {
            do {
                return try await HTTPProbe(options: options).fetch(url).report
            } catch {
                return .couldNotRun(ProbeName.http, input: ("url", url), error: error)
            }
        }
    }

    /// A TCP connect probe of `host:port`, as the `tcp` entry of the report.
    public static func tcp(_ target: String, options: TCPProbeOptions = .default) -> AdditionalProbe {
        AdditionalProbe(name: ProbeName.tcp) {
            do {
                return try await TCPProbe(options: options).connect(target).report
            } catch {
                return .couldNotRun(ProbeName.tcp, input: ("host", target), error: error)
            }
        }
    }
}

extension DNSProbe {
    /// Checks a name as `query` would (RFC 1035 syntax), without sending anything.
    public static func validate(name: String) throws(ProbeError) { _ = try DNSNameSyntax.validate(name) }
}

extension HTTPProbe {
    /// Checks a URL as `fetch` would (http or https, with a host), without sending anything.
    public static func validate(url: String) throws(ProbeError) { _ = try HTTPURLSyntax.validate(url) }
}
