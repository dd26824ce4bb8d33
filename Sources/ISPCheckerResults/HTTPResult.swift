import FoundationEssentials
import ISPCheckerPrimitives

#if canImport(Glibc)
import Glibc
#endif

/// The result of an HTTP probe: phases, status, TLS and the checks.
///
/// Phases are durations of their own (not curl's cumulative times): `dns`, then `connect`
/// (TCP), `tls` (handshake, https only), `ttfb` (request sent to first response byte), so
/// `dns + connect + tls + ttfb` is curl's start-transfer time and never more than `total`.
/// With redirects curl adds each request's times together.
/// How an HTTP probe asks for its URL.
public enum HTTPMethod: String, Sendable, Codable { case get = "GET", head = "HEAD" }

public struct HTTPResult: Sendable, Codable, Equatable {
    public var url: String
    public var method: HTTPMethod
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

    /// A result with nothing measured yet, for the probe to fill in.
    package init(url: String, method: HTTPMethod) {
        self.url = url
        self.method = method
        effectiveURL = url
        outcome = .error
        redirects = 0
        dnsMicroseconds = 0
        totalMicroseconds = 0
        bytes = 0
        statusMatched = false
        certificateWarningDays = 14
    }
}
