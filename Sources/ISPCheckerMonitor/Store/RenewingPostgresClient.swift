import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store's `PostgresClient`, replaced by a fresh one after a long outage.
///
/// postgres-nio's pool spaces its connection attempts 100 ms × 1.25ⁿ apart, up to 60 s, and
/// offers no setting for it: after a 5-minute outage the server could be back for a minute
/// before the pool tried again, and the queued runs waited that long (measured: 55 s). When
/// every operation has failed for `renewal` and the current client is at least `renewal` old,
/// the next failure swaps in a new client (its backoff starts again at 100 ms); the old one is
/// shut down. A client that has failed for at most `renewal` backs off about 7 s at most, so
/// the first write after the server is back comes within the recorder's backoff plus that.
final class RenewingPostgresClient: Sendable {
    private struct State {
        var client: PostgresClient
        /// Ends when the client is replaced: its `run()` is then cancelled.
        var retired: AsyncStream<Void>.Continuation
        var createdAt: ContinuousClock.Instant
        var failingSince: ContinuousClock.Instant?
    }

    private let configuration: PostgresClient.Configuration
    private let logger: Logger
    /// How long operations must have failed (and the client lived) before it is replaced.
    let renewal: Duration
    private let state: Mutex<State>
    /// Every client to run, the first one included, with its retirement signal.
    private let clients: AsyncStream<(PostgresClient, AsyncStream<Void>)>
    private let clientsContinuation: AsyncStream<(PostgresClient, AsyncStream<Void>)>.Continuation

    init(configuration: PostgresClient.Configuration, renewal: Duration = .seconds(30), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.renewal = renewal
        (clients, clientsContinuation) = AsyncStream.makeStream()
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let (retired, retire) = AsyncStream<Void>.makeStream()
        state = Mutex(State(client: client, retired: retire, createdAt: .now, failingSince: nil))
        clientsContinuation.yield((client, retired))
    }

    /// The client operations use now.
    var current: PostgresClient { state.withLock { $0.client } }

    /// Runs each client until it is replaced, until cancelled or graceful shutdown (as
    /// `PostgresClient.run()` itself does).
    func run() async {
        await cancelWhenGracefulShutdown { await self.runClients() }
    }

    private func runClients() async {
        await withDiscardingTaskGroup { group in
            for await (client, retired) in clients {
                group.addTask {
                    await withTaskGroup(of: Void.self) { lifetime in
                        lifetime.addTask { await client.run() }
                        lifetime.addTask { for await _ in retired {} }
                        await lifetime.next()
                        lifetime.cancelAll()
                    }
                }
            }
        }
    }

    /// An operation reached the server.
    func noteSuccess() {
        state.withLock { $0.failingSince = nil }
    }

    /// An operation failed for want of the server; replaces the client when it is due.
    func noteUnavailable() {
        let now = ContinuousClock.now
        let replaced = state.withLock { state -> Bool in
            guard let since = state.failingSince else {
                state.failingSince = now
                return false
            }
            guard now - since >= renewal, now - state.createdAt >= renewal else { return false }
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            let (retired, retire) = AsyncStream<Void>.makeStream()
            state.retired.finish()
            state.client = client
            state.retired = retire
            state.createdAt = now
            clientsContinuation.yield((client, retired))
            return true
        }
        if replaced {
            logger.info("run store unreachable for \(renewal) or more: new PostgreSQL client, so its reconnect backoff starts again")
        }
    }
}
