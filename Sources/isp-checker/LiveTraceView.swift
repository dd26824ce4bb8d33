import ISPChecker

/// The frames of the live trace view: a pure function of the model, the terminal's size and the
/// style, so that what is drawn can be tested without a terminal.
enum LiveTraceView {
    static let keyHelp = "q quit  p pause  r reset  d display  n names"

    static func frame(_ model: LiveTraceModel, rows: Int, columns: Int, style: TextStyle, utf8: Bool) -> [String] {
        let trace = model.result
        let rateLimited = model.rateLimitedTTLs
        let lossStart = model.lossStartTTL
        let rounds = model.roundLimit.map { "round \(model.roundsDone)/\($0)" } ?? "round \(model.roundsDone)"
        let state = model.paused ? "  PAUSED" : ""
        var header = ["isp-checker trace \(model.target) (\(model.address)) \(model.method)\(model.paris ? " paris" : " classic"), \(rounds)\(state)  [\(keyHelp)]"]
        let historyWidth = max(10, columns - 62)
        switch model.display {
        case .numbers:
            header.append("HOP MARK ADDRESS                  LOSS%  SNT    LAST     AVG    BEST    WRST   STDEV  RECENT")
        case .rttHistory:
            header.append("HOP MARK ADDRESS                  LOSS%  SNT  RTT HISTORY (oldest left, x lost)")
        case .lossHistory:
            header.append("HOP MARK ADDRESS                  LOSS%  SNT  ANSWERS (. answered, x lost)")
        }
        var body: [(text: String, kind: RowKind)] = []
        for hop in trace.hops {
            let kind: RowKind = hop.ttl == lossStart ? .lossStart : rateLimited.contains(hop.ttl) ? .rateLimited : .plain
            let mark = switch kind { case .lossStart: ">>"; case .rateLimited: "RL"; case .plain: "  " }
            let address = hop.addresses.first.map { first in
                model.showNames ? (first.name ?? model.names[first.address]).map { "\($0) (\(first.address))" } ?? "\(first.address)" : "\(first.address)"
            } ?? "???"
            let more = hop.addresses.count > 1 ? " +\(hop.addresses.count - 1)" : ""
            var line = padLeft("\(hop.ttl)", 3) + "  " + mark + "  " + padRight(address + more, 24) + " "
                + fixed(hop.lossPercent, digits: 1, width: 5) + " " + padLeft("\(hop.sent)", 4)
            let samples = model.history[hop.ttl] ?? []
            switch model.display {
            case .numbers:
                func ms(_ value: Double?) -> String { value.map { fixed($0, digits: 3, width: 7) } ?? "      -" }
                line += " " + [hop.lastMilliseconds, hop.avgMilliseconds, hop.bestMilliseconds, hop.worstMilliseconds, hop.stdevMilliseconds]
                    .map(ms).joined(separator: " ")
                line += "  " + sparkline(samples.suffix(min(historyWidth, 20)), utf8: utf8)
            case .rttHistory:
                line += "  " + sparkline(samples.suffix(historyWidth), utf8: utf8)
            case .lossHistory:
                line += "  " + String(samples.suffix(historyWidth).map { $0 == nil ? "x" : "." })
            }
            switch kind {
            case .lossStart: line += "  << loss starts here"
            case .rateLimited: line += "  (rate-limited ICMP, not loss)"
            case .plain: break
            }
            body.append((line, kind))
            for stack in TraceText.mplsLines(hop) { body.append((stack, .plain)) }
        }
        if trace.hops.isEmpty { body.append(("  waiting for the first answers …", .plain)) }

        var footer = [""]
        if let verdict = model.verdict {
            footer.append("Verdict: score \(ReportText.format(verdict.score)) / 100 (0 healthy, 100 outage), severity \(verdict.severity.rawValue)")
            let faults = verdict.diagnosis.filter { !$0.informational }
            if faults.isEmpty { footer.append("  no fault found on the path so far") }
            for fault in faults.prefix(2) { footer.append("  \(fault.component): \(fault.explanation)") }
            if !rateLimited.isEmpty {
                footer.append("  RL: ICMP rate limiting at hop \(rateLimited.sorted().map(String.init).joined(separator: ", ")), not loss: later hops lose nothing")
            }
        } else {
            footer.append("Verdict: after the first round")
        }

        // Header and verdict stay; hops past the screen's end are cut.
        let room = max(1, rows - header.count - footer.count)
        if body.count > room { body = Array(body.prefix(room - 1)) + [("  … \(body.count - room + 1) more lines: enlarge the window", .plain)] }
        let fit = { (text: String) -> String in text.count > columns ? String(text.prefix(columns)) : text }
        return [style.bold(fit(header[0]))] + header.dropFirst().map { style.dim(fit($0)) }
            + body.map { row in
                let text = fit(row.text)
                return switch row.kind {
                case .lossStart: style.alert(text)
                case .rateLimited: style.warning(text)
                case .plain: text
                }
            }
            + footer.map { line in line.hasPrefix("Verdict") ? style.bold(fit(line)) : fit(line) }
    }

    enum RowKind { case plain, rateLimited, lossStart }

    /// Recent RTTs as bars scaled between the samples' smallest and largest, `x` for a lost probe.
    static func sparkline<S: Collection>(_ samples: S, utf8: Bool) -> String where S.Element == Double? {
        let levels: [Character] = utf8 ? ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] : ["_", ".", "-", "=", "+", "*", "#", "@"]
        let values = samples.compactMap { $0 }
        guard let low = values.min(), let high = values.max() else { return String(samples.map { _ in Character("x") }) }
        let span = high - low
        return String(samples.map { sample in
            guard let sample else { return "x" }
            let level = span <= 0 ? 0 : Int(((sample - low) / span * Double(levels.count - 1)).rounded())
            return levels[min(levels.count - 1, max(0, level))]
        })
    }
}

/// Whether the terminal takes UTF-8 (the locale says so), for the block characters of the bars.
var terminalTakesUTF8: Bool {
    let locale = environment("LC_ALL").flatMap { $0.isEmpty ? nil : $0 } ?? environment("LC_CTYPE").flatMap { $0.isEmpty ? nil : $0 } ?? environment("LANG") ?? ""
    return locale.uppercased().contains("UTF-8") || locale.uppercased().contains("UTF8")
}
