import CServiceProbe
import FoundationEssentials
import ISPCheckerResults

extension HTTPResult {
    /// The result of one transfer, from what the C side measured and the options' checks.
    init(url: String, method: HTTPMethod, raw: cs_http_result, body: ArraySlice<UInt8>, options: HTTPProbeOptions) {
        self.init(url: url, method: method)
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
}
