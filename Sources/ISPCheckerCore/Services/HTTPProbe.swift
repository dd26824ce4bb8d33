import CServiceProbe
import FoundationEssentials
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// How an HTTP probe fetches its URL.
public struct HTTPProbeOptions: Sendable {
    public typealias Method = HTTPMethod

    public var method: Method
    public var followRedirects: Bool
    public var maxRedirects: Int
    /// The whole transfer, redirects included.
    public var timeout: Duration
    /// Name resolution, TCP connect and TLS handshake.
    public var connectTimeout: Duration
    /// Verify the certificate chain and host name (turn off only to read an untrusted
    /// certificate's expiry).
    public var verifyCertificate: Bool
    /// PEM file of trusted CAs instead of the system store.
    public var caFile: String?
    /// Status codes that count as success; `nil` means 200-399.
    public var expectedStatusCodes: Set<Int>?
    /// Text the body must contain (checked in the first `bodyCaptureLimitBytes` bytes).
    public var bodyContains: String?
    public var bodyCaptureLimitBytes: Int
    public var family: FamilyPreference
    public var userAgent: String?
    /// A leaf certificate that expires sooner than this makes the status `warn`.
    public var certificateWarningDays: Int
    /// Network namespace to connect from; `nil` for the caller's own. Host names are looked
    /// up by curl's resolver (the system's), on the probe thread.
    public var networkNamespace: String?

    public init(method: Method = .get, followRedirects: Bool = true, maxRedirects: Int = 5,
                timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5),
                verifyCertificate: Bool = true, caFile: String? = nil, expectedStatusCodes: Set<Int>? = nil,
                bodyContains: String? = nil, bodyCaptureLimitBytes: Int = 1 << 20, family: FamilyPreference = .any,
                userAgent: String? = "isp-checker/0.1", certificateWarningDays: Int = 14, networkNamespace: String? = nil) {
        self.method = method
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.verifyCertificate = verifyCertificate
        self.caFile = caFile
        self.expectedStatusCodes = expectedStatusCodes
        self.bodyContains = bodyContains
        self.bodyCaptureLimitBytes = bodyCaptureLimitBytes
        self.family = family
        self.userAgent = userAgent
        self.certificateWarningDays = certificateWarningDays
        self.networkNamespace = networkNamespace
    }

    public static let `default` = HTTPProbeOptions()
}

/// GET or HEAD of one URL through libcurl, with every phase timed, the TLS version and the
/// leaf certificate's expiry. The transfer runs on a thread of its own through curl's multi
/// interface, which also polls the cancel descriptor, so cancelling the task ends it at once.
public struct HTTPProbe: Sendable {
    public var options: HTTPProbeOptions

    public init(options: HTTPProbeOptions = .default) { self.options = options }

    public func fetch(_ url: String) async throws(ProbeError) -> HTTPResult {
        let url = try HTTPURLSyntax.validate(url)
        let options = options
        guard options.timeout.isPositive, options.connectTimeout.isPositive else {
            throw .invalidArgument(name: "timeout", reason: "must be > 0")
        }
        guard options.maxRedirects >= 0 else { throw .invalidArgument(name: "max redirects", reason: "must be ≥ 0") }
        guard options.bodyCaptureLimitBytes >= 0 else { throw .invalidArgument(name: "body capture limit", reason: "must be ≥ 0") }
        if let caFile = options.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw .invalidArgument(name: "CA file", reason: "'\(caFile)' is not a readable file")
        }
        return try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
            HTTPTransfer.run(url: url, options: options, cancelDescriptor: cancel)
        }
    }
}

/// http(s) URLs with a host; anything else is refused before curl sees it.
package enum HTTPURLSyntax {
    package static func validate(_ text: String) throws(ProbeError) -> String {
        let url = text.trimmingWhitespace()
        guard !url.isEmpty else { throw .malformedURL(text, reason: "empty") }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw .malformedURL(text, reason: "spaces, control characters and non-ASCII must be percent-encoded")
        }
        guard let schemeEnd = url.firstRange(of: "://") else { throw .malformedURL(text, reason: "no scheme (http:// or https://)") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            if scheme.isEmpty { throw .malformedURL(text, reason: "empty scheme") }
            throw .unsupportedScheme(scheme, url: text)
        }
        guard let components = URLComponents(string: url) else { throw .malformedURL(text, reason: "not a URL") }
        guard let host = components.host, !host.isEmpty else { throw .malformedURL(text, reason: "no host") }
        let bare = TargetResolver.stripBrackets(host)
        if IPAddress(bare) == nil {
            do { try TargetResolver.validateHostName(bare) } catch {
                throw .malformedURL(text, reason: "host: \(error)")
            }
        }
        if let port = components.port, !(1...65535).contains(port) { throw .malformedURL(text, reason: "port must be 1-65535") }
        return url
    }
}

/// The blocking part: one cs_http_fetch and the checks on its result.
enum HTTPTransfer {
    static func run(url: String, options: HTTPProbeOptions, cancelDescriptor: Int32) -> Result<HTTPResult, ProbeError> {
        var raw = cs_http_result()
        var body = [UInt8](repeating: 0, count: options.bodyContains == nil ? 0 : options.bodyCaptureLimitBytes)
        var bodyLength = 0
        let status: Int32 = url.withCString { urlPointer in
            withOptionalCString(options.caFile) { caPointer in
                withOptionalCString(options.userAgent) { agentPointer in
                    var request = cs_http_request(
                        url: urlPointer, head: options.method == .head ? 1 : 0, follow_redirects: options.followRedirects ? 1 : 0,
                        max_redirects: options.maxRedirects, timeout_ms: options.timeout.clampedMilliseconds,
                        connect_timeout_ms: options.connectTimeout.clampedMilliseconds, verify_peer: options.verifyCertificate ? 1 : 0,
                        ca_file: caPointer, ip_version: options.family == .ipv4 ? 4 : options.family == .ipv6 ? 6 : 0,
                        user_agent: agentPointer)
                    return body.withUnsafeMutableBufferPointer { buffer in
                        cs_http_fetch(&request, cancelDescriptor, buffer.baseAddress, buffer.count, &bodyLength, &raw)
                    }
                }
            }
        }
        if status == -ECANCELED { return .failure(.cancelled) }
        if status == -ELIBACC { return .failure(.libraryMissing) }
        guard status == 0 else { return .failure(.systemError(operation: "curl transfer", errno: -status)) }
        return .success(HTTPResult(url: url, method: options.method, raw: raw, body: body.prefix(bodyLength), options: options))
    }

    private static func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}

extension String {
    /// A fixed-size C char array (a tuple imported from C) as a String.
    init<T>(cTuple: T) {
        self = withUnsafeBytes(of: cTuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
