import Hummingbird

/// The API key, for the dashboard's pages. A browser cannot add a header to a page it opens, so
/// besides `X-API-Key` / `Authorization: Bearer` (as `/api/*`) a page accepts:
/// - the cookie `isp_checker_dashboard` (the key, hex-encoded), which the next item sets;
/// - `?key=KEY` once: the answer is a redirect to the same page without the key, setting that
///   cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`, a session cookie). The key so leaves the
///   address bar and the browser's history at once and is never sent in a `Referer`.
///
/// The cookie opens the dashboard only, never `/api/*`: a cookie goes with every request a
/// browser makes to the host, and the API stays header-only. Every comparison is constant-time.
/// Without the key: 401 and a short page saying how to open the dashboard.
struct DashboardAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String

    static var cookieName: String { "isp_checker_dashboard" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // An empty configured key fails closed, as for the API.
        guard !apiKey.isEmpty else { return Self.refusal() }
        if let presented = APIKeyMiddleware<Context>.presentedKey(request),
           APIKeyMiddleware<Context>.constantTimeEqual(presented, apiKey) {
            return try await next(request, context)
        }
        if let cookie = request.cookies[Self.cookieName]?.value,
           APIKeyMiddleware<Context>.constantTimeEqual(cookie, Self.hex(apiKey)) {
            return try await next(request, context)
        }
        if let presented = request.uri.queryParameters.get("key") {
            guard APIKeyMiddleware<Context>.constantTimeEqual(presented, apiKey) else { return Self.refusal() }
            var response = Response(status: .seeOther, headers: [
                .location: Self.pathWithoutKey(request.uri.path), .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer",
            ])
            response.setCookie(Cookie(name: Self.cookieName, value: Self.hex(apiKey), path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        return Self.refusal()
    }

    /// The key as the cookie carries it: any byte of a key is valid there once hex-encoded.
    static func hex(_ key: String) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = ""
        for byte in key.utf8 {
            text.unicodeScalars.append(digits[Int(byte >> 4)])
            text.unicodeScalars.append(digits[Int(byte & 0xF)])
        }
        return text
    }

    /// Where to send the browser after `?key=`: the same path, no query; only a local path
    /// (`//host` would leave the site).
    static func pathWithoutKey(_ path: String) -> String {
        path.hasPrefix("/") && !path.hasPrefix("//") ? path : "/"
    }

    static func refusal() -> Response {
        DashboardController<Context>.html(
            DashboardPages.page(title: "isp-checker: API key needed", base: "/", body: """
                <h1>API key needed</h1><p>This monitor's dashboard is protected by its API key. Open it once as
                <code>/?key=YOUR_KEY</code>: the key is then kept in a session cookie for this site and removed from the address.</p>
                """),
            status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"])
    }
}
