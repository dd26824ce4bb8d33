import Hummingbird

/// Lets a request through only with the configured key, in `X-API-Key: KEY` or
/// `Authorization: Bearer KEY`; otherwise answers 401.
public struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    public let apiKey: String

    public init(apiKey: String) {
        self.apiKey = apiKey
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // An empty configured key fails closed: an empty header must not match it.
        guard !apiKey.isEmpty, let presented = Self.presentedKey(request), Self.constantTimeEqual(presented, apiKey) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "missing or wrong API key: send X-API-Key or Authorization: Bearer")
        }
        return try await next(request, context)
    }

    static func presentedKey(_ request: Request) -> String? {
        if let key = request.headers[.init("X-API-Key")!] { return key }
        if let authorization = request.headers[.authorization] {
            let prefix = "Bearer "
            if authorization.count > prefix.count, authorization.prefix(prefix.count).lowercased() == prefix.lowercased() {
                return String(authorization.dropFirst(prefix.count))
            }
        }
        return nil
    }

    /// Compares without an early exit, so the time taken does not reveal how much of a guess is right.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
