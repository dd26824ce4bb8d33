import CServiceProbe
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The result of an HTTP probe: phases, status, TLS and the checks.
///
/// Phases are durations of their own (not curl's cumulative times): `dns`, then `connect`
/// (TCP), `tls` (handshake, https only), `ttfb` (request sent to first response byte), so
/// `dns + connect + tls + ttfb` is curl's start-transfer time and never more than `total`.
/// With redirects curl adds each request's times together.
public struct HTTPResult: Sendable, Codable, Equatable {
    public var url: String
    public var method: HTTPProbeOptions.Method
    /// The URL fetched last, after redirects.
    public var effectiveURL: String
    public var outcome: ServiceOutcome
    /// The last response's status; `nil` when none came.
    public var statusCode: Int?
    public var redirects: Int
    public var dnsMicroseconds: Int64
    public var connectMicroseconds: Int64?
    public var tlsMicroseconds: Int64?
    public var timeToFirstByteMicroseconds: Int64?
    public var totalMicroseconds: Int64
    /// Body bytes received.
    public var bytes: Int64
    /// "TLSv1.3" etc., https only.
    public var tlsVersion: String?
    /// Seconds from the handshake to the leaf certificate's notAfter (negative when expired).
    public var certificateSecondsLeft: Int64?
    public var certificateNotAfter: Date?
    /// The address curl connected to.
    public var primaryIP: String?
    /// Whether the status was one of the expected codes (200-399 by default).
    public var statusMatched: Bool
    /// Whether the body contained the text asked for; `nil` when nothing was asked.
    public var bodyMatched: Bool?
    /// What went wrong, when `outcome` is not `ok`.
    public var error: String?
    /// Days before the certificate warning threshold, copied from the options for `status`.
    public var certificateWarningDays: Int

    /// snake_case, like every JSON isp-checker writes (docs/http.schema.json, `result`).
    enum CodingKeys: String, CodingKey {
        case url, method, outcome, redirects, bytes, error
        case effectiveURL = "effective_url"
        case statusCode = "status_code"
        case dnsMicroseconds = "dns_microseconds"
        case connectMicroseconds = "connect_microseconds"
        case tlsMicroseconds = "tls_microseconds"
        case timeToFirstByteMicroseconds = "time_to_first_byte_microseconds"
        case totalMicroseconds = "total_microseconds"
        case tlsVersion = "tls_version"
        case certificateSecondsLeft = "certificate_seconds_left"
        case certificateNotAfter = "certificate_not_after"
        case primaryIP = "primary_ip"
        case statusMatched = "status_matched"
        case bodyMatched = "body_matched"
        case certificateWarningDays = "certificate_warning_days"
    }

    /// Whole days until the leaf certificate expires, rounded to the nearest day (a
    /// certificate issued with `-days 30` reports 30).
    public var certificateDaysLeft: Int? {
        certificateSecondsLeft.map { Int((Double($0) / 86_400).rounded()) }
    }

    init(url: String, method: HTTPProbeOptions.Method, raw: cs_http_result, body: ArraySlice<UInt8>, options: HTTPProbeOptions) {
        self.url = url
        self.method = method
        effectiveURL = String(cTuple: raw.effective_url)
        statusCode = raw.status_code > 0 ? Int(raw.status_code) : nil
        redirects = Int(raw.redirects)
        dnsMicroseconds = raw.namelookup_us
        connectMicroseconds = raw.connect_us > 0 ? raw.connect_us - raw.namelookup_us : nil
        tlsMicroseconds = raw.appconnect_us > 0 ? raw.appconnect_us - raw.connect_us : nil
        let requestSent = raw.appconnect_us > 0 ? raw.appconnect_us : raw.connect_us
        timeToFirstByteMicroseconds = raw.starttransfer_us > 0 ? raw.starttransfer_us - requestSent : nil
        totalMicroseconds = raw.total_us
        bytes = raw.body_bytes
        let version = String(cTuple: raw.tls_version)
        tlsVersion = version.isEmpty ? nil : version
        if raw.has_certificate != 0 {
            certificateSecondsLeft = raw.certificate_seconds_left
            certificateNotAfter = Date(timeIntervalSince1970: TimeInterval(raw.certificate_not_after_unix))
        }
        let ip = String(cTuple: raw.primary_ip)
        primaryIP = ip.isEmpty ? nil : ip
        certificateWarningDays = options.certificateWarningDays
        let code = Int(raw.status_code)
        statusMatched = options.expectedStatusCodes.map { $0.contains(code) } ?? (200...399).contains(code)
        if let needle = options.bodyContains {
            bodyMatched = needle.isEmpty || Array(body).firstRange(of: Array(needle.utf8)) != nil
        }

        let kind = cs_http_failure_kind(raw.curl_code)
        let curlError = String(cTuple: raw.error)
        switch Int(kind) {
        case CS_HTTP_FAILURE_NONE:
            if !statusMatched {
                outcome = .httpError
                error = "status \(code), expected \(options.expectedStatusCodes.map { $0.sorted().map(String.init).joined(separator: ",") } ?? "200-399")"
            } else if bodyMatched == false {
                outcome = .httpError
                error = "body does not contain '\(options.bodyContains ?? "")' (first \(body.count) bytes checked)"
            } else {
                outcome = .ok
            }
        case CS_HTTP_FAILURE_TIMEOUT:
            outcome = .timeout
            error = "timeout: \(curlError)"
        case CS_HTTP_FAILURE_CONNECT:
            outcome = raw.os_errno != 0 ? ServiceOutcome(errno: Int32(raw.os_errno)) : .error
            error = curlError
        case CS_HTTP_FAILURE_TLS:
            outcome = .tlsError
            error = curlError
        case CS_HTTP_FAILURE_REDIRECTS:
            outcome = .httpError
            error = curlError
        default:
            outcome = .error
            error = curlError
        }
    }

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
        func ms(_ us: Int64) -> DetailValue { .double(Double(us) / 1_000) }
        var details: [String: DetailValue] = [
            "url": .string(url),
            "method": .string(method.rawValue),
            "dns_ms": ms(dnsMicroseconds),
            "total_ms": ms(totalMicroseconds),
            "redirects": .int(redirects),
            "bytes": .int(Int(bytes)),
            "outcome": .string(outcome.rawValue),
        ]
        if let statusCode { details["status_code"] = .int(statusCode) }
        if let connectMicroseconds { details["connect_ms"] = ms(connectMicroseconds) }
        if let tlsMicroseconds { details["tls_ms"] = ms(tlsMicroseconds) }
        if let timeToFirstByteMicroseconds { details["ttfb_ms"] = ms(timeToFirstByteMicroseconds) }
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
        return ProbeReport(name: "http", status: status, details: details, error: errorText)
    }
}
