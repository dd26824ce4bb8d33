import Foundation
import TestSupport

/// An HTTP/1.1 response as read off the socket.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw HarnessError.failed("body is not a JSON object: \(text)")
        }
        return object
    }
}

/// A minimal blocking HTTP/1.1 client for 127.0.0.1 (`Connection: close`), so the tests talk
/// to the servers over real sockets without any proxy setting getting in the way.
func httpGet(port: Int, _ pathAndQuery: String, headers: [String: String] = [:]) async throws -> HTTPReply {
    try await onOwnThread { try blockingGet(port: port, pathAndQuery, headers: headers) }
}

private func blockingGet(port: Int, _ pathAndQuery: String, headers: [String: String]) throws -> HTTPReply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError.failed("socket: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw HarnessError.failed("connect 127.0.0.1:\(port): errno \(errno)") }
    var request = "GET \(pathAndQuery) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    request += "\r\n"
    let bytes = Array(request.utf8)
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw HarnessError.failed("send: errno \(errno)") }
        sent += n
    }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n == 0 { break }
        guard n > 0 else { throw HarnessError.failed("recv: errno \(errno)") }
        response.append(contentsOf: buffer[0..<n])
    }
    return try parse(response)
}

private func parse(_ response: Data) throws -> HTTPReply {
    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError.failed("no HTTP header in reply") }
    let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    guard let statusLine = head.first, statusLine.count >= 12, let status = Int(statusLine.split(separator: " ")[1]) else {
        throw HarnessError.failed("bad status line")
    }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var body = Data(response[split.upperBound...])
    if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
    return HTTPReply(status: status, headers: headers, body: body)
}

private func dechunk(_ data: Data) throws -> Data {
    var output = Data()
    var rest = data[...]
    while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
        let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
        guard let size = Int(sizeText, radix: 16) else { throw HarnessError.failed("bad chunk size") }
        if size == 0 { break }
        let start = lineEnd.upperBound
        output.append(rest[start..<(start + size)])
        rest = rest[(start + size + 2)...]
    }
    return output
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw HarnessError.failed("cannot find a free port: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// GET `path` from a server on 127.0.0.1:`port` inside network namespace `namespace` (a monitor
/// the lab tests run in the lab's client namespace), with curl there: the body; throws on an
/// HTTP error or after 10 s.
func namespaceGet(_ namespace: String, port: Int, _ path: String) throws -> String {
    try run("/usr/sbin/ip", ["netns", "exec", namespace, "curl", "-sf", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"]).stdout
}
