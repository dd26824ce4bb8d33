import ISPChecker
import ISPCheckerCore
import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// The live trace view: `trace` on a terminal (not `--json`, not `--report`). The main thread
/// draws and reads keys; the trace runs as `engine.traceUpdates` streams in a task whose
/// updates go into the model (one owner: the `Locked` model). A pause stops the stream and a
/// resume starts another, whose rounds the library merges with the earlier ones.
struct LiveTrace {
    let request: TraceRequest
    let engine: ProbeEngine
    let options: TraceOptions

    enum Ending: Equatable {
        case quit, finished
        /// SIGTERM or SIGHUP: the report is printed, and the exit status says which signal.
        case terminated(Int32)
    }

    /// Runs the view until q, Ctrl-C, a signal or the last round; returns the trace so far and
    /// how it ended. The terminal is given back before this returns or throws.
    func run() throws -> (TraceResult, RunReport?, Ending) {
        // Resolved once: a stream started after a pause or a reset traces the same address.
        let address: IPAddress
        let (target, family) = (request.target, options.family)
        do { address = try runBlocking { () async throws -> IPAddress in try await TargetResolver.resolve(target, preference: family) } } catch {
            throw CLIError(error)
        }
        let model = Locked(LiveTraceModel(target: request.target, address: address, method: options.method, paris: options.paris,
                                          roundLimit: request.rounds, showNames: request.resolve))
        let session: TerminalSession
        do { session = try TerminalSession(mode: .fullScreen) } catch { throw CLIError(error) }
        defer { session.leave() }
        let style = TextStyle(enabled: request.color.enabled(isTerminal: true))
        let utf8 = terminalTakesUTF8
        var stream: Task<Void, Never>?
        let (engine, options) = (self.engine, self.options)

        func startStream() {
            let (generation, roundsLeft) = model.withLock { model in (model.streamStarted(), model.roundsLeft) }
            var streamOptions = options
            // Without -c: as many rounds as a trace may have (28 hours at 1 s), then another stream.
            streamOptions.rounds = max(1, roundsLeft ?? 100_000)
            streamOptions.resolveHopNames = false  // the view looks names up itself, when shown
            stream = Task.detached {
                do {
                    for try await update in engine.traceUpdates(address.description, options: streamOptions) {
                        model.withLock { $0.apply(update, generation: generation) }
                    }
                    model.withLock { $0.streamEnded(generation: generation, error: nil) }
                } catch {
                    let failure = error as? ProbeError ?? .cancelled
                    model.withLock { $0.streamEnded(generation: generation, error: failure == .cancelled ? nil : failure) }
                }
            }
        }
        func stopStream() {
            stream?.cancel()
            stream = nil
        }

        var requestedNames: Set<IPAddress> = []
        var drawn = (version: -1, rows: 0, columns: 0)
        var ending = Ending.quit
        startStream()
        loop: while true {
            let (version, ended, failure, roundsLeft, paused, wantedNames) = model.withLock { model in
                (model.version, model.streamEnded, model.failure, model.roundsLeft, model.paused,
                 model.showNames ? Set(model.result.hops.flatMap { $0.addresses.map(\.address) }) : [])
            }
            if let failure {
                session.leave()
                throw CLIError(failure)
            }
            if ended && !paused {
                if roundsLeft == 0 { ending = .finished }
                else { startStream(); continue }
            }
            let newNames = wantedNames.subtracting(requestedNames)
            if !newNames.isEmpty {
                requestedNames.formUnion(newNames)
                Task.detached {
                    let names = await ReverseResolver.names(for: newNames)
                    model.withLock { model in
                        model.names.merge(names) { old, _ in old }
                        model.touch()
                    }
                }
            }
            let size = session.size
            if version != drawn.version || size.rows != drawn.rows || size.columns != drawn.columns {
                let lines = model.withLock { LiveTraceView.frame($0, rows: size.rows, columns: size.columns, style: style, utf8: utf8) }
                session.drawFullScreen(lines)
                drawn = (version, size.rows, size.columns)
            }
            if ending == .finished { break loop }
            let inputs: [TerminalInput]
            do { inputs = try session.wait(milliseconds: 100) } catch { break loop }  // the terminal is gone: end as q does
            for input in inputs {
                switch input {
                case .key(UInt8(ascii: "q")), .key(UInt8(ascii: "Q")):
                    break loop
                case .key(UInt8(ascii: "p")), .key(UInt8(ascii: "P")), .key(UInt8(ascii: " ")):
                    if paused {
                        model.withLock { $0.paused = false }
                        startStream()
                    } else {
                        stopStream()
                        model.withLock { model in
                            model.streamStopped()
                            model.paused = true
                        }
                    }
                case .key(UInt8(ascii: "r")), .key(UInt8(ascii: "R")):
                    stopStream()
                    model.withLock { $0.reset() }
                    if !paused { startStream() }
                case .key(UInt8(ascii: "d")), .key(UInt8(ascii: "D")):
                    model.withLock { model in
                        model.display = model.display.next
                        model.touch()
                    }
                case .key(UInt8(ascii: "n")), .key(UInt8(ascii: "N")):
                    model.withLock { model in
                        model.showNames.toggle()
                        model.touch()
                    }
                case .signal(SIGINT):
                    session.signalHandled()
                    break loop
                case .signal(let number):
                    session.signalHandled()
                    ending = .terminated(number)
                    break loop
                case .resized, .key:
                    break
                }
            }
        }
        stopStream()
        session.leave()
        return model.withLock { model in
            model.streamStopped()
            return (model.result, model.verdict, ending)
        }
    }
}
