import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// A hand-off from the scheduler's target loops to the one task iterating it, with back-pressure:
/// `send` returns once the consumer has taken the report, so a slow consumer slows the schedule
/// instead of piling reports up in memory. `finish()` releases every waiting sender and ends the
/// consumer's iteration.
final class ReportChannel: Sendable {
    private struct State {
        var pending: [(report: RunReport, sender: CheckedContinuation<Void, Never>)] = []
        var receiver: CheckedContinuation<RunReport?, Never>?
        var finished = false
    }

    private let state = Locked(State())

    /// Hands `report` over; returns when the consumer has it, or at once if the channel is finished.
    func send(_ report: RunReport) async {
        await withCheckedContinuation { (sender: CheckedContinuation<Void, Never>) in
            let receiver: CheckedContinuation<RunReport?, Never>?? = state.withLock { state in
                if state.finished { return .some(nil) }
                if let receiver = state.receiver {
                    state.receiver = nil
                    return .some(receiver)
                }
                state.pending.append((report, sender))
                return .none
            }
            switch receiver {
            case .some(let waiting):
                waiting?.resume(returning: report)
                sender.resume()
            case .none:
                break  // resumed when the consumer takes the report, or by finish()
            }
        }
    }

    /// The next report, or `nil` once finished. One consumer at a time.
    func next() async -> RunReport? {
        await withCheckedContinuation { (receiver: CheckedContinuation<RunReport?, Never>) in
            let taken: (report: RunReport, sender: CheckedContinuation<Void, Never>)?? = state.withLock { state in
                if !state.pending.isEmpty { return .some(state.pending.removeFirst()) }
                if state.finished { return .some(nil) }
                precondition(state.receiver == nil, "a ProbeScheduler is iterated by one task at a time")
                state.receiver = receiver
                return .none
            }
            switch taken {
            case .some(let entry?):
                entry.sender.resume()
                receiver.resume(returning: entry.report)
            case .some(nil):
                receiver.resume(returning: nil)
            case .none:
                break  // resumed by a sender or by finish()
            }
        }
    }

    /// Ends the iteration: the waiting consumer gets `nil`, every waiting sender returns.
    func finish() {
        let (receiver, senders) = state.withLock { state in
            state.finished = true
            defer {
                state.receiver = nil
                state.pending = []
            }
            return (state.receiver, state.pending.map(\.sender))
        }
        receiver?.resume(returning: nil)
        for sender in senders { sender.resume() }
    }
}
