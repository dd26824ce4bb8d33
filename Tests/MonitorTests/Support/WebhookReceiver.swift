import Foundation
import Synchronization
import TestSupport

/// A small HTTP/1.1 server on 127.0.0.1 that records every POST a webhook sender makes and
/// answers each with the next status of `statuses` (then 200): `[500]` fails the first delivery.
/// Blocking sockets on its own thread. With `networkNamespace`, its socket is opened on a
/// thread that first entered that namespace (setns moves only the calling thread), so it listens
/// on that namespace's loopback: where a monitor run with `ip netns exec` can reach it.
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var path: String
        var body: Data
        var status: Int
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw HarnessError.failed("webhook body is not a JSON object: \(String(decoding: body, as: UTF8.self))")
            }
            return object
        }
    }

    let port: Int
    private let listener: Int32
    private let state: Mutex<(requests: [Request], statuses: [Int])>

    init(statuses: [Int] = [], networkNamespace: String? = nil) throws {
        state = Mutex((requests: [], statuses: statuses))
        let opened: Result<(Int32, Int), HarnessError> = try Self.onThread {
            if let networkNamespace { try Self.enter(networkNamespace) }
            return try Self.listen()
        }
        (listener, port) = try opened.get()
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    /// Every request so far.
    var requests: [Request] { state.withLock { $0.requests } }

    /// Stops accepting (the accept loop ends).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Data.Index>?
        var contentLength = 0
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = end
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let end = headerEnd, data.count - end.upperBound >= contentLength { break }
        }
        guard let end = headerEnd else { return }
        let requestLine = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")[0]
        let parts = requestLine.split(separator: " ")
        let path = parts.count > 1 ? String(parts[1]) : ""
        let body = Data(data[end.upperBound..<(end.upperBound + contentLength)])
        let status = state.withLock { state -> Int in
            let status = state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            state.requests.append(Request(path: path, body: body, status: status))
            return status
        }
        let reply = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = Array(reply.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError.failed("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, Glibc.listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(fd)
            throw HarnessError.failed("cannot listen on 127.0.0.1: errno \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Moves the calling thread into the named network namespace (`ip netns` keeps them in /run/netns).
    private static func enter(_ namespace: String) throws {
        let fd = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError.failed("cannot open /run/netns/\(namespace): errno \(errno)") }
        defer { close(fd) }
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            throw HarnessError.failed("setns not found in libc")
        }
        let cloneNewNet: Int32 = 0x4000_0000  // CLONE_NEWNET, <linux/sched.h>
        guard unsafeBitCast(symbol, to: SetNS.self)(fd, cloneNewNet) == 0 else {
            throw HarnessError.failed("setns into \(namespace): errno \(errno)")
        }
    }

    /// Runs `body` on a new thread (which ends with it) and waits for its result.
    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> Result<T, HarnessError> {
        let result = Mutex<Result<T, HarnessError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let outcome: Result<T, HarnessError>
            do { outcome = .success(try body()) } catch { outcome = .failure(HarnessError.failed("\(error)")) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.withLock { $0! }
    }
}
