import ISPCheckerPrimitives

/// The result of a TCP connect probe.
public struct TCPResult: Sendable, Codable, Equatable {
    public var host: String
    public var port: Int
    public var address: IPAddress
    /// `ok` (connected), `refused` (RST), `timeout` (no answer: filtered), `network_unreachable`,
    /// `host_unreachable` (ICMP errors or no route), or `error`.
    public var outcome: ServiceOutcome
    /// connect() to the end of the handshake, or to the RST/ICMP error; `nil` on timeout.
    public var connectNanoseconds: Int64?
    public var error: String?

    public var connectMilliseconds: Double? { connectNanoseconds.map { roundedMilliseconds(nanoseconds: $0) } }

    /// snake_case, like every JSON isp-checker writes (docs/tcp.schema.json, `result`).
    enum CodingKeys: String, CodingKey {
        case host, port, address, outcome, error
        case connectNanoseconds = "connect_nanoseconds"
    }

    /// Every stored property, for the probes that build one.
    package init(host: String, port: Int, address: IPAddress, outcome: ServiceOutcome, connectNanoseconds: Int64? = nil, error: String? = nil) {
        self.host = host
        self.port = port
        self.address = address
        self.outcome = outcome
        self.connectNanoseconds = connectNanoseconds
        self.error = error
    }
}
