import Foundation
import ISPChecker
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Why a webhook POST failed, and whether trying again may help (`RetryClassifiable`).
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible, RetryClassifiable {
    /// The receiver answered with a status that is not 2xx. 5xx and 429 are retried; any other
    /// status will not change by retrying (check the URL and the receiver's configuration).
    case status(Int)
    /// No connection: refused, unreachable, name not resolved (the receiver is down or the URL is wrong).
    case connectionFailed(String)
    /// No answer within the webhook's timeout.
    case timedOut(Duration)
    /// The connection closed before a whole response head arrived.
    case closedEarly
    /// The URL cannot be used (the configuration check refuses these first).
    case invalidURL(String)

    public var retryableErrorKind: RetryableErrorKind? {
        switch self {
        case .status(let code): return code >= 500 || code == 429 ? .temporaryFailure : nil
        case .connectionFailed: return .connectionRefused
        case .timedOut: return .timeout
        case .closedEarly: return .temporaryFailure
        case .invalidURL: return nil
        }
    }

    public var description: String {
        switch self {
        case .status(let code): return "webhook answered HTTP \(code)" + (code >= 500 || code == 429 ? " (retried)" : " (not retried: check the URL and the receiver)")
        case .connectionFailed(let reason): return "cannot connect to the webhook: \(reason)"
        case .timedOut(let limit): return "webhook did not answer within \(limit)"
        case .closedEarly: return "webhook closed the connection before answering"
        case .invalidURL(let reason): return "webhook URL unusable: \(reason)"
        }
    }
}

/// A parsed `http://` or `https://` URL: where to connect and what to ask for.
struct WebhookURL: Sendable, Equatable {
    var tls: Bool
    var host: String
    var port: Int
    /// Path and query, `/` at least.
    var target: String

    init(_ text: String) throws(WebhookError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw .invalidURL("expected http(s)://host[:port]/path")
        }
        tls = scheme == "https"
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? (tls ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = path + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
    }

    /// Whether the host is an IPv4 or IPv6 address rather than a name.
    var isAddressLiteral: Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// The `Host` header (RFC 9110 §7.2): an IPv6 address in brackets, the port unless the scheme's.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The URL without its path and query (those may hold a token): for logs and errors.
    var redacted: String { "\(tls ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)/…" }
}

/// One HTTP/1.1 POST per call over SwiftNIO (already the monitor's network stack), with TLS
/// (NIOSSL, system trust roots, host name verified) for `https://`. `Connection: close`: a
/// webhook is called a few times an hour, not worth a pool.
struct WebhookClient: Sendable {
    let url: WebhookURL
    let timeout: Duration
    private let sslContext: NIOSSLContext?

    init(url: WebhookURL, timeout: Duration) throws {
        self.url = url
        self.timeout = timeout
        sslContext = url.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
    }

    /// POSTs `body`; returns the 2xx status, throws `WebhookError` otherwise.
    @discardableResult
    func post(_ body: [UInt8], contentType: String) async throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: Int.self)
        let timeoutAmount = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                   + Int64(timeout.components.attoseconds / 1_000_000_000))
        let url = self.url
        let sslContext = self.sslContext
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeoutAmount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // SNI takes names only (RFC 6066 §3): an address literal is sent without.
                        let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: url.isAddressLiteral ? nil : url.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseStatusHandler(promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch {
            promise.fail(error)
            throw WebhookError.connectionFailed("\(url.redacted): \(error)")
        }
        let timeoutTask = eventLoop.scheduleTask(in: timeoutAmount) {
            promise.fail(WebhookError.timedOut(timeout))
            channel.close(promise: nil)
        }
        defer { timeoutTask.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: url.target)
        head.headers.add(name: "Host", value: url.hostHeader)
        head.headers.add(name: "User-Agent", value: "isp-checker-monitor")
        head.headers.add(name: "Content-Type", value: contentType)
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let status: Int
        do {
            status = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
                channel.close(promise: nil)
            }
        } catch let error as WebhookError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            channel.close(promise: nil)
            throw WebhookError.connectionFailed("\(url.redacted): \(error)")
        }
        guard (200..<300).contains(status) else { throw WebhookError.status(status) }
        return status
    }
}

/// Completes the promise with the response's status once the response has ended (or fails it
/// when the connection closes first), then closes the connection.
private final class ResponseStatusHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<Int>
    private var status: Int?

    init(promise: EventLoopPromise<Int>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body:
            break
        case .end:
            complete(.success(status ?? 0))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let status { complete(.success(status)) } else { complete(.failure(WebhookError.closedEarly)) }
        context.fireChannelInactive()
    }

    /// The timeout or a cancellation may have failed the promise already: completing a
    /// completed promise is a no-op in NIO (`_setValue` keeps the first value).
    private func complete(_ result: Result<Int, any Error>) {
        promise.completeWith(result)
    }
}
