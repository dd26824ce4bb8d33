import FoundationEssentials
import ISPChecker
import ISPCheckerPrimitives
import ISPCheckerResults

/// What the live trace view shows, as plain values: the engine's hop statistics as they come
/// (`TraceUpdate`), the rounds of earlier streams (before a pause) merged into one result by
/// the library (`TraceResult.merged`), and the verdict the library's analysis gives that
/// result. The view keeps only what is its own: recent answers per hop for the history
/// columns, and the display settings.
struct LiveTraceModel: Sendable {
    enum Display: CaseIterable, Sendable {
        case numbers, rttHistory, lossHistory
        var next: Display { Display.allCases[(Display.allCases.firstIndex(of: self)! + 1) % Display.allCases.count] }
    }

    /// One answer (its RTT in milliseconds) or a lost probe (nil), in the order they came.
    typealias Sample = Double?

    let target: String
    let address: IPAddress
    let method: TraceMethod
    let paris: Bool
    /// `-c N`: the rounds to run; nil: until q.
    let roundLimit: Int?
    /// Samples kept per hop for the history columns.
    static let historyLength = 120

    /// The streams before the running one (a pause stops a stream), merged; nil at the start
    /// and after a reset.
    private(set) var earlier: TraceResult?
    /// The running stream's hops: the last finished round's, with the hop updates since.
    private(set) var current: [TraceHop] = []
    /// Rounds the running stream finished.
    private(set) var currentRounds = 0
    private(set) var currentStarted: ContinuousClock.Instant = .now
    private(set) var history: [Int: [Sample]] = [:]
    /// The library's reading of the path so far (score, severity, diagnosis); nil before the
    /// first round.
    private(set) var verdict: RunReport?
    var paused = false
    var display = Display.numbers
    var showNames: Bool
    var names: [IPAddress: String] = [:]
    /// Changes with everything shown, so the view redraws only when something changed.
    private(set) var version = 0
    /// The running stream's number: updates of a stream stopped since (pause, reset) are
    /// dropped, as they may still arrive after it was cancelled.
    private(set) var generation = 0
    /// The running stream ended (all its rounds done), or failed.
    private(set) var streamEnded = false
    private(set) var failure: ProbeError?

    init(target: String, address: IPAddress, method: TraceMethod, paris: Bool, roundLimit: Int?, showNames: Bool) {
        self.target = target
        self.address = address
        self.method = method
        self.paris = paris
        self.roundLimit = roundLimit
        self.showNames = showNames
    }

    var roundsDone: Int { (earlier?.rounds ?? 0) + currentRounds }
    /// Rounds still to run (nil: no limit).
    var roundsLeft: Int? { roundLimit.map { max(0, $0 - roundsDone) } }

    /// Everything measured so far as one trace result (names filled in from `names`).
    var result: TraceResult {
        var combined = currentResult.map { earlier?.merged(with: $0) ?? $0 } ?? earlier
            ?? Self.partial(target: target, address: address, method: method, paris: paris, rounds: 0, hops: [], milliseconds: 0)
        combined.target = target
        for index in combined.hops.indices {
            for slot in combined.hops[index].addresses.indices where combined.hops[index].addresses[slot].name == nil {
                combined.hops[index].addresses[slot].name = names[combined.hops[index].addresses[slot].address]
            }
        }
        return combined
    }

    private var currentResult: TraceResult? {
        guard !current.isEmpty else { return nil }
        return Self.partial(target: target, address: address, method: method, paris: paris, rounds: currentRounds, hops: current,
                            milliseconds: (ContinuousClock.now - currentStarted).inMilliseconds)
    }

    /// A result of hops so far: it stops where the destination answered, or where a router
    /// said unreachable.
    static func partial(target: String, address: IPAddress, method: TraceMethod, paris: Bool, rounds: Int, hops: [TraceHop], milliseconds: Double) -> TraceResult {
        var hops = hops
        var stop = TraceStop.maxHopsReached
        if let destination = hops.firstIndex(where: \.isDestination) {
            hops.removeSubrange((destination + 1)...)
            stop = .destinationReached
        } else if let last = hops.last, let code = last.unreachable.first(where: { !$0.isPortUnreachable }) {
            stop = .unreachable(code)
        }
        return TraceResult(target: target, address: address, method: method, paris: paris, rounds: rounds, hops: hops, stop: stop,
                           durationMilliseconds: milliseconds)
    }

    /// A new stream starts (at the start, after a pause or a reset); its generation.
    mutating func streamStarted() -> Int {
        generation += 1
        streamEnded = false
        defer { version += 1 }
        current = []
        currentRounds = 0
        currentStarted = .now
        return generation
    }

    /// An update of stream `generation`: dropped when that stream was stopped since.
    mutating func apply(_ update: TraceUpdate, generation: Int) {
        guard generation == self.generation else { return }
        apply(update)
    }

    /// Stream `generation` ended: after its last round, or with `error` (nil for a stream
    /// that was stopped, whose cancellation is no failure).
    mutating func streamEnded(generation: Int, error: ProbeError?) {
        guard generation == self.generation else { return }
        streamEnded = true
        failure = error
        version += 1
    }

    mutating func apply(_ update: TraceUpdate) {
        switch update {
        case .hop(let hop, _):
            let before = current.first { $0.ttl == hop.ttl }
            if hop.sent > (before?.sent ?? 0) {
                history[hop.ttl, default: []].append(hop.received > (before?.received ?? 0) ? hop.lastMilliseconds : nil)
                if history[hop.ttl]!.count > Self.historyLength { history[hop.ttl]!.removeFirst() }
            }
            if let index = current.firstIndex(where: { $0.ttl >= hop.ttl }) {
                if current[index].ttl == hop.ttl { current[index] = hop } else { current.insert(hop, at: index) }
            } else {
                current.append(hop)
            }
        case .roundFinished(let round, let hops):
            currentRounds = round
            current = hops
            refreshVerdict()
        case .finished(let finished):
            var finished = finished
            finished.target = target
            for hop in finished.hops { for address in hop.addresses { if let name = address.name { names[address.address] = name } } }
            earlier = earlier.map { $0.merged(with: finished) } ?? finished
            current = []
            currentRounds = 0
            refreshVerdict()
        }
        version += 1
    }

    /// The running stream was stopped (pause): what it measured joins the earlier rounds.
    mutating func streamStopped() {
        generation += 1
        if let currentResult { earlier = earlier.map { $0.merged(with: currentResult) } ?? currentResult }
        current = []
        currentRounds = 0
        version += 1
    }

    /// `r`: statistics, history and verdict start again.
    mutating func reset() {
        generation += 1
        earlier = nil
        current = []
        currentRounds = 0
        currentStarted = .now
        history = [:]
        verdict = nil
        version += 1
    }

    mutating func touch() { version += 1 }

    private mutating func refreshVerdict() {
        let trace = result
        verdict = trace.hops.isEmpty ? nil : HealthAnalyzer().analyze(target: target, ping: nil, trace: trace)
    }

    /// Hops the analysis reads as limiting their ICMP errors (loss that later hops do not share).
    var rateLimitedTTLs: Set<Int> {
        Set(verdict?.diagnosis.filter { $0.component == DiagnosisComponent.icmpRateLimiting }.compactMap { $0.evidence.first?.hop } ?? [])
    }

    /// Where loss that persists to the end of the path starts (the analysis's reading).
    var lossStartTTL: Int? {
        guard verdict != nil else { return nil }
        return verdict?.trace?.persistentLossStartTTL()
    }
}
