import ArgumentParser
import ISPChecker
import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// `run` on a terminal: one line per probe, redrawn in place while the check runs (pending,
/// running, ok/warn/crit), left on screen above the summary. The probes' states come from the
/// library's `HealthChecker.check(_:history:progress:)`.
enum LiveRun {
    struct ProbeLine: Sendable, Equatable {
        var name: String
        var state: String
    }

    /// The lines of the view.
    static func frame(target: String, probes: [ProbeLine], elapsedSeconds: Double, style: TextStyle) -> [String] {
        let width = max(12, (probes.map(\.name.count).max() ?? 0) + 2)
        return [style.bold("isp-checker run: \(target)  (\(fixed(elapsedSeconds, digits: 1)) s, Ctrl-C stops)")] + probes.map { probe in
            let state = padRight(probe.state, 8)
            let shown = switch probe.state {
            case "ok": style.good(state)
            case "warn": style.warning(state)
            case "crit": style.bad(state)
            case "pending": style.dim(state)
            default: state
            }
            return "  " + padRight(probe.name, width) + shown
        }
    }

    /// Runs the check with the view; the report, or nil when a signal stopped it (`signal` set).
    static func check(_ checker: HealthChecker, options: HealthCheckOptions, history: [RunReport] = [], color: ColorChoice) throws -> RunReport {
        var initial = [ProbeLine(name: ProbeName.ping, state: "pending")]
        if options.trace != nil { initial.append(ProbeLine(name: ProbeName.traceroute, state: "pending")) }
        initial += options.additionalProbes.map { ProbeLine(name: $0.name, state: "pending") }
        if options.bufferbloat != nil { initial.append(ProbeLine(name: ProbeName.bufferbloat, state: "pending")) }
        if options.ecmp != nil { initial.append(ProbeLine(name: ProbeName.ecmp, state: "pending")) }
        let state = Locked((probes: initial, version: 0, outcome: Result<RunReport, ProbeError>?.none))
        let session: TerminalSession
        do { session = try TerminalSession(mode: .inline) } catch { throw CLIError(error) }
        defer { session.leave() }
        let style = TextStyle(enabled: color.enabled(isTerminal: true))
        let task = Task.detached {
            let outcome: Result<RunReport, ProbeError>
            do {
                outcome = .success(try await checker.check(options, history: history, progress: { progress in
                    let text = switch progress.state {
                    case .running: "running"
                    case .finished(let status): status.rawValue
                    }
                    state.withLock { state in
                        if let index = state.probes.firstIndex(where: { $0.name == progress.probe }) {
                            state.probes[index].state = text
                        } else {
                            state.probes.append(ProbeLine(name: progress.probe, state: text))
                        }
                        state.version += 1
                    }
                }))
            } catch {
                outcome = .failure(error as? ProbeError ?? .cancelled)
            }
            state.withLock { state in
                state.outcome = outcome
                state.version += 1
            }
        }
        let started = ContinuousClock.now
        var drawnLines = 0
        var drawnAt = (version: -1, tenths: -1)
        while true {
            let (probes, version, outcome) = state.withLock { ($0.probes, $0.version, $0.outcome) }
            let elapsed = (ContinuousClock.now - started).inMilliseconds / 1000
            if version != drawnAt.version || Int(elapsed * 10) != drawnAt.tenths {
                let lines = frame(target: options.target, probes: probes, elapsedSeconds: elapsed, style: style)
                session.drawInline(lines, previousLineCount: drawnLines)
                drawnLines = lines.count
                drawnAt = (version, Int(elapsed * 10))
            }
            if let outcome {
                session.leave()
                do { return try outcome.get() } catch { throw CLIError(error) }
            }
            let inputs: [TerminalInput]
            do { inputs = try session.wait(milliseconds: 100) } catch { inputs = [] }
            for case .signal(let number) in inputs {
                task.cancel()
                session.leave()
                errorOutput("isp-checker: stopped by signal \(number) before the check finished\n")
                throw ExitCode(128 + number)
            }
        }
    }
}
