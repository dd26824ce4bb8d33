import ISPCheckerPrimitives
import ISPCheckerResults

/// What became of one echo request.
package struct EchoOutcome: Sendable {
    enum Status: Sendable, Equatable {
        case received
        case timedOut
        case sendFailed(errno: Int32)
        case cancelled
        case engineShutDown
    }

    var sequence: UInt16
    var status: Status
    var rttNanoseconds: Int64?
    var clock: ClockSource?
    var ttl: Int?
}

/// Identifies one outstanding echo request inside an engine.
struct ProbeKey: Hashable, Sendable {
    var family: IPFamily
    var sequence: UInt16
}

/// The bookkeeping of one outstanding echo request: what was sent, and the timestamps that
/// came back from the socket and from the capture, which may arrive in any order.
struct PendingEcho {
    let token: UInt64
    let destination: IPAddress
    let deadline: ContinuousClock.Instant
    let continuation: CheckedContinuation<EchoOutcome, Never>
    var sent = false
    var userSendNanoseconds: Int64 = 0
    var captureSendNanoseconds: Int64?
    var captureReceiveNanoseconds: Int64?
    /// The driver's send timestamp, from the socket's error queue (SO_TIMESTAMPING).
    var socketSendKernelNanoseconds: Int64?
    var socketReceiveKernelNanoseconds: Int64?
    var socketReceiveUserNanoseconds: Int64?
    var ttl: Int?
    /// Set when the socket delivered the reply; after it, completion waits at most until
    /// this instant for capture timestamps.
    var captureGraceDeadline: ContinuousClock.Instant?

    var replied: Bool { captureGraceDeadline != nil }

    /// When the engine must look at this probe again if no packet comes for it: its timeout,
    /// or once it has its reply, the end of the capture grace (nil: nothing to wait for by time).
    func nextDeadline(captureActive: Bool) -> ContinuousClock.Instant? {
        guard let grace = captureGraceDeadline else { return deadline }
        return captureActive ? grace : nil
    }

    /// The outcome once the probe may complete, nil while it must still wait.
    func outcomeIfReady(sequence: UInt16, now: ContinuousClock.Instant, captureActive: Bool) -> EchoOutcome? {
        guard let grace = captureGraceDeadline else {
            return now >= deadline ? EchoOutcome(sequence: sequence, status: .timedOut) : nil
        }
        guard sent else { return nil }
        let haveCapture = captureSendNanoseconds != nil && captureReceiveNanoseconds != nil
        if captureActive && !haveCapture && now < grace { return nil }
        return EchoOutcome(sequence: sequence, status: .received, rttNanoseconds: rtt.nanoseconds, clock: rtt.clock, ttl: ttl)
    }

    private var rtt: (nanoseconds: Int64, clock: ClockSource) {
        if let send = captureSendNanoseconds, let receive = captureReceiveNanoseconds, receive >= send {
            return (receive - send, .pcap)
        }
        if let send = socketSendKernelNanoseconds, let receive = socketReceiveKernelNanoseconds, receive >= send {
            return (receive - send, .kernelSocket)
        }
        if let receive = socketReceiveKernelNanoseconds, receive >= userSendNanoseconds {
            return (receive - userSendNanoseconds, .kernelReceive)
        }
        return (max(0, (socketReceiveUserNanoseconds ?? userSendNanoseconds) - userSendNanoseconds), .userspace)
    }
}
