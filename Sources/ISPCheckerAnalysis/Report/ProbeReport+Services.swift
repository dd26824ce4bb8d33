import FoundationEssentials
import ISPCheckerResults

// The verdicts of the service probes and their entries in the run report (runbook §3.3).

extension ProbeReport {
    /// The entry of a DNS, HTTP or TCP probe that did not get to measure (its input was refused,
    /// or it failed before any exchange): `crit`, outcome `error`, the input under its detail key
    /// (`query`, `url`, `host`) and the error's words.
    package static func couldNotRun(_ name: String, input: (key: String, value: String), error: any Error) -> ProbeReport {
        let details: [String: DetailValue] = [input.key: .string(input.value), "outcome": .string(ServiceOutcome.error.rawValue)]
        return ProbeReport(name: name, status: .crit, details: details, error: "\(error)")
    }
}

extension DNSResult {
    /// ok: the first resolver answered NOERROR. warn: another one did after failover.
    /// crit: NXDOMAIN, or no resolver answered.
    public var status: ProbeStatus {
        guard let answer, answer.outcome == .ok else { return .crit }
        return failedResolvers.isEmpty ? .ok : .warn
    }

    /// The runbook's `dns` probe entry.
    public var report: ProbeReport {
        var details: [String: DetailValue] = [
            "query": .string(name),
            "type": .string(type.description),
            "failed_resolvers": .strings(failedResolvers.map(\.description)),
            "answers": .strings(answers),
            "outcome": .string(outcome.rawValue),
            "resolver_outcomes": .strings(attempts.map { "\($0.resolver)=\($0.outcome.rawValue)" }),
            "attempts": .int(attempts.count),
        ]
        if let answer {
            details["resolver"] = .string(answer.resolver.description)
            details["transport"] = .string(answer.transport.rawValue)
            details["truncated"] = .bool(answer.truncatedOverUDP)
            if let latency = answer.latencyMilliseconds { details["latency_ms"] = .double(latency) }
        }
        // The RCODE behind the reported outcome: the answer's, or the first failed attempt's
        // with that outcome.
        let outcome = outcome
        let responseCode = (answer ?? attempts.first { $0.outcome == outcome && $0.responseCode != nil })?.responseCode
        if let responseCode { details["rcode"] = .string(responseCode.description) }
        let measured = ProbeMeasurement.DNS(query: name, outcome: .known(outcome), responseCode: responseCode?.description,
                                            latencyMilliseconds: answer?.latencyMilliseconds,
                                            failedResolvers: failedResolvers.map(\.description),
                                            resolver: answer?.resolver.description)
        return ProbeReport(name: ProbeName.dns, status: status, measurement: .dns(measured), details: details, error: errorText)
    }

    private var errorText: String? {
        if let answer {
            if answer.outcome == .nxdomain { return "NXDOMAIN: \(name) does not exist (answered by \(answer.resolver))" }
            guard !failedResolvers.isEmpty else { return nil }
            let failed = attempts.dropLast().map { "\($0.resolver) \($0.outcome.rawValue)" }.joined(separator: ", ")
            return "failover: \(failed); answered by \(answer.resolver)"
        }
        switch outcome {
        case .timeout: return "timeout: no nameservers responded"
        case .networkUnreachable: return "Network unreachable"
        default:
            return "no resolver answered: " + attempts.map { "\($0.resolver) \($0.outcome.rawValue)" }.joined(separator: ", ")
        }
    }
}

extension HTTPResult {
    /// crit when the fetch failed or a check did not pass, or the certificate has expired;
    /// warn when the certificate expires within `certificateWarningDays`; else ok.
    public var status: ProbeStatus {
        guard outcome == .ok else { return .crit }
        if let seconds = certificateSecondsLeft {
            if seconds <= 0 { return .crit }
            // Saturating: a warning window of more days than an Int64 of seconds holds is "always warn".
            let (window, overflow) = Int64(clamping: certificateWarningDays).multipliedReportingOverflow(by: 86_400)
            if overflow ? certificateWarningDays > 0 : seconds < window { return .warn }
        }
        return .ok
    }

    /// The runbook's `http` probe entry.
    public var report: ProbeReport {
        func milliseconds(_ us: Int64) -> Double { Double(us) / 1_000 }
        // What analysis reads; the details below carry the same numbers.
        let measured = ProbeMeasurement.HTTP(outcome: .known(outcome), statusCode: statusCode,
                                             connectMilliseconds: connectMicroseconds.map(milliseconds),
                                             tlsMilliseconds: tlsMicroseconds.map(milliseconds),
                                             timeToFirstByteMilliseconds: timeToFirstByteMicroseconds.map(milliseconds),
                                             totalMilliseconds: milliseconds(totalMicroseconds),
                                             certificateDaysLeft: certificateDaysLeft.map(Double.init))
        var details: [String: DetailValue] = [
            "url": .string(url),
            "method": .string(method.rawValue),
            "dns_ms": .double(milliseconds(dnsMicroseconds)),
            "total_ms": .double(milliseconds(totalMicroseconds)),
            "redirects": .int(redirects),
            "bytes": .int(Int(bytes)),
            "outcome": .string(outcome.rawValue),
        ]
        if let statusCode { details["status_code"] = .int(statusCode) }
        if let value = measured.connectMilliseconds { details["connect_ms"] = .double(value) }
        if let value = measured.tlsMilliseconds { details["tls_ms"] = .double(value) }
        if let value = measured.timeToFirstByteMilliseconds { details["ttfb_ms"] = .double(value) }
        if let tlsVersion { details["tls_version"] = .string(tlsVersion) }
        if let days = certificateDaysLeft { details["cert_days_left"] = .int(days) }
        if let notAfter = certificateNotAfter { details["cert_expiry_unix"] = .int(Int(notAfter.timeIntervalSince1970)) }
        if effectiveURL != url && !effectiveURL.isEmpty { details["effective_url"] = .string(effectiveURL) }
        if let primaryIP { details["primary_ip"] = .string(primaryIP) }
        if let bodyMatched { details["body_matched"] = .bool(bodyMatched) }
        var errorText = error
        if errorText == nil, status == .warn, let days = certificateDaysLeft {
            errorText = "certificate expires in \(days) days (warning below \(certificateWarningDays))"
        }
        if outcome == .ok, status == .crit { errorText = "certificate has expired" }
        return ProbeReport(name: ProbeName.http, status: status, measurement: .http(measured), details: details, error: errorText)
    }
}

extension TCPResult {
    /// ok when connected, crit otherwise.
    public var status: ProbeStatus { outcome == .ok ? .ok : .crit }

    /// The runbook's `tcp` probe entry.
    public var report: ProbeReport {
        var details: [String: DetailValue] = [
            "host": .string(host), "port": .int(port), "address": .string(address.description),
            "outcome": .string(outcome.rawValue),
        ]
        if let ms = connectMilliseconds { details["connect_ms"] = .double(ms) }
        let measured = ProbeMeasurement.TCP(outcome: .known(outcome), connectMilliseconds: connectMilliseconds)
        return ProbeReport(name: ProbeName.tcp, status: status, measurement: .tcp(measured), details: details,
                           error: error.map { "\(outcome.rawValue): \($0)" })
    }
}
