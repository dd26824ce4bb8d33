import Foundation

/// The time spans a target's page graphs, as SmokePing's pages do.
public enum GraphRange: String, Sendable, CaseIterable {
    case threeHours = "3h"
    case day = "1d"
    case week = "7d"
    case month = "30d"

    public var span: Duration {
        switch self {
        case .threeHours: return .seconds(3 * 3600)
        case .day: return .seconds(24 * 3600)
        case .week: return .seconds(7 * 24 * 3600)
        case .month: return .seconds(30 * 24 * 3600)
        }
    }

    var title: String {
        switch self {
        case .threeHours: return "last 3 hours"
        case .day: return "last day"
        case .week: return "last 7 days"
        case .month: return "last 30 days"
        }
    }

    /// Columns per graph: 2 px each over the 600 px plot, whatever the span (30 days: 2.4 h a column).
    public static let columns = 300
}

/// SmokePing-style SVG graphs drawn on the server: no script, no external asset.
enum DashboardGraphs {
    static let width = 720.0, plotLeft = 64.0, plotWidth = 600.0

    /// SmokePing's loss colours (its default `loss_colors` for 20 pings: 0, 1, 2, 3, 4, 10, 19
    /// lost), as percentages.
    static let lossColours: [(upToPercent: Double, colour: String, label: String)] = [
        (0, "#26ff00", "0"), (5, "#00b8ff", "≤5%"), (10, "#0059ff", "≤10%"), (15, "#5e00ff", "≤15%"),
        (20, "#7e00ff", "≤20%"), (50, "#dd00ff", "≤50%"), (100, "#ff0000", ">50%"),
    ]

    static func lossColour(_ percent: Double) -> String {
        lossColours.first { percent <= $0.upToPercent }?.colour ?? "#ff0000"
    }

    /// A rounded axis top at or above `value`: 1, 2, 2.5 or 5 times a power of ten.
    static func niceCeiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// The latency graph: per column the smoke (p10–p90 and p25–p75 of the runs' average RTT,
    /// and up to the highest reply), the median line, the median marked in the column's loss
    /// colour, and a loss strip under the plot.
    static func latency(_ columns: [HistoryColumn], window: HistoryWindow, range: GraphRange) -> String {
        let plotTop = 14.0, plotHeight = 170.0, stripTop = plotTop + plotHeight + 4, height = 236.0
        let columnWidth = plotWidth / Double(window.columns)
        let highest = columns.compactMap(\.rttP90Milliseconds).max() ?? 0
        let top = niceCeiling(max(highest * 1.25, columns.compactMap(\.rttMedianMilliseconds).max() ?? 0) )
        func y(_ ms: Double) -> Double { plotTop + plotHeight - min(ms, top) / top * plotHeight }
        func x(_ index: Int) -> Double { plotLeft + Double(index) * columnWidth }

        var svg = svgOpen(height: height, label: "Round-trip time, \(range.title)", cssClass: "latency", range: range)
        svg += grid(plotTop: plotTop, plotHeight: plotHeight, top: top, unit: " ms")
        var smoke = "", inner = "", outer = "", marks = "", strip = ""
        for column in columns {
            let left = HTML.coordinate(x(column.index)), w = HTML.coordinate(columnWidth)
            if let p10 = column.rttP10Milliseconds, let p90 = column.rttP90Milliseconds {
                if let highestReply = column.rttMaxMilliseconds, highestReply > p90 {
                    smoke += rect(left, y(highestReply), w, y(p90) - y(highestReply))
                }
                outer += rect(left, y(p90), w, max(0.5, y(p10) - y(p90)))
            }
            if let p25 = column.rttP25Milliseconds, let p75 = column.rttP75Milliseconds {
                inner += rect(left, y(p75), w, max(0.5, y(p25) - y(p75)))
            }
            if let median = column.rttMedianMilliseconds {
                let loss = column.lossAveragePercent ?? 0
                marks += "<rect x=\"\(left)\" y=\"\(HTML.coordinate(y(median) - 1.5))\" width=\"\(w)\" height=\"3\" fill=\"\(lossColour(loss))\"/>"
            }
            if let loss = column.lossAveragePercent {
                strip += "<rect x=\"\(left)\" y=\"\(HTML.coordinate(stripTop))\" width=\"\(w)\" height=\"6\" fill=\"\(lossColour(loss))\"><title>\(HTML.number(loss, digits: 1))% loss</title></rect>"
            }
        }
        svg += "<g class=\"smoke-max\" fill=\"#e4e4e4\">\(smoke)</g><g class=\"smoke-outer\" fill=\"#c4c4c4\">\(outer)</g>"
        svg += "<g class=\"smoke-inner\" fill=\"#8c8c8c\">\(inner)</g>"
        svg += "<path class=\"median\" fill=\"none\" stroke=\"#202020\" stroke-width=\"1\" d=\"\(linePath(columns, x: { x($0) + columnWidth / 2 }, y: y, value: \.rttMedianMilliseconds))\"/>"
        svg += "<g class=\"loss-marks\">\(marks)</g><g class=\"loss-strip\">\(strip)</g>"
        if !columns.contains(where: { $0.rttMedianMilliseconds != nil }) {
            svg += "<text x=\"\(HTML.coordinate(plotLeft + plotWidth / 2))\" y=\"\(HTML.coordinate(plotTop + plotHeight / 2))\" text-anchor=\"middle\" fill=\"#777\">no ping replies in this window</text>"
        }
        svg += timeAxis(window: window, range: range, y: stripTop + 8)
        svg += legend(y: height - 6)
        return svg + "</svg>"
    }

    /// The score history: the columns' average score as an area, the worst as a line, over the
    /// runbook's severity bands (P4 < 20 ≤ P3 < 40 ≤ P2 ≤ 80 < P1).
    static func score(_ columns: [HistoryColumn], window: HistoryWindow, range: GraphRange) -> String {
        let plotTop = 6.0, plotHeight = 70.0, height = 96.0
        let columnWidth = plotWidth / Double(window.columns)
        func y(_ score: Double) -> Double { plotTop + plotHeight - min(max(score, 0), 100) / 100 * plotHeight }
        func x(_ index: Int) -> Double { plotLeft + Double(index) * columnWidth + columnWidth / 2 }
        var svg = svgOpen(height: height, label: "Health score, \(range.title)", cssClass: "score", range: range)
        for (low, high, colour) in [(0.0, 20.0, "#eef8ee"), (20, 40, "#fbf7e6"), (40, 80, "#fcefe3"), (80, 100, "#fbe5e5")] {
            svg += "<rect x=\"\(HTML.coordinate(plotLeft))\" y=\"\(HTML.coordinate(y(high)))\" width=\"\(HTML.coordinate(plotWidth))\" height=\"\(HTML.coordinate(y(low) - y(high)))\" fill=\"\(colour)\"/>"
        }
        for mark in [0.0, 20, 40, 80, 100] {
            svg += "<text x=\"\(HTML.coordinate(plotLeft - 6))\" y=\"\(HTML.coordinate(y(mark) + 3))\" text-anchor=\"end\" font-size=\"9\" fill=\"#555\">\(Int(mark))</text>"
        }
        svg += "<path class=\"score-average\" fill=\"none\" stroke=\"#3366aa\" stroke-width=\"1.5\" d=\"\(linePath(columns, x: x, y: y, value: { $0.scoreAverage }))\"/>"
        svg += "<path class=\"score-worst\" fill=\"none\" stroke=\"#cc3333\" stroke-width=\"1\" stroke-dasharray=\"2 2\" d=\"\(linePath(columns, x: x, y: y, value: { $0.scoreMax }))\"/>"
        svg += timeAxis(window: window, range: range, y: plotTop + plotHeight + 4)
        return svg + "</svg>"
    }

    /// An SVG path through the columns' values, broken where the history has a gap: columns
    /// further apart than three times the usual spacing of the runs (runs every 10 min over a
    /// 3-hour graph of 36 s columns fill one column in 17 and are still one line; a monitor
    /// stopped for a day is not drawn as a straight line across that day).
    static func linePath(_ columns: [HistoryColumn], x: (Int) -> Double, y: (Double) -> Double,
                         value: (HistoryColumn) -> Double?) -> String {
        let present = columns.filter { value($0).map(\.isFinite) ?? false }
        let spacings = zip(present.dropFirst(), present).map { $0.index - $1.index }.sorted()
        let usual = spacings.isEmpty ? 1 : spacings[spacings.count / 2]
        let longestJoined = max(1, 3 * usual)
        var parts: [String] = [], previous: Int?
        for column in present {
            let command = previous.map { column.index - $0 <= longestJoined } == true ? "L" : "M"
            parts.append("\(command)\(HTML.coordinate(x(column.index))) \(HTML.coordinate(y(value(column)!)))")
            previous = column.index
        }
        return parts.joined(separator: " ")
    }

    private static func svgOpen(height: Double, label: String, cssClass: String, range: GraphRange) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph \(cssClass)\" data-range=\"\(range.rawValue)\" role=\"img\" aria-label=\"\(HTML.escape(label))\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"DejaVu Sans, sans-serif\">"
            + "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#fff\"/>"
    }

    private static func rect(_ x: String, _ y: Double, _ width: String, _ height: Double) -> String {
        "<rect x=\"\(x)\" y=\"\(HTML.coordinate(y))\" width=\"\(width)\" height=\"\(HTML.coordinate(height))\"/>"
    }

    private static func grid(plotTop: Double, plotHeight: Double, top: Double, unit: String) -> String {
        var svg = "<g class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">"
        var labels = ""
        for step in 0...4 {
            let value = top * Double(step) / 4
            let y = plotTop + plotHeight - Double(step) / 4 * plotHeight
            svg += "<line x1=\"\(HTML.coordinate(plotLeft))\" y1=\"\(HTML.coordinate(y))\" x2=\"\(HTML.coordinate(plotLeft + plotWidth))\" y2=\"\(HTML.coordinate(y))\"/>"
            let text = value >= 10 || value == 0 ? "\(Int(value.rounded()))" : HTML.number(value, digits: value >= 1 ? 1 : 2)
            labels += "<text x=\"\(HTML.coordinate(plotLeft - 6))\" y=\"\(HTML.coordinate(y + 3))\" text-anchor=\"end\" font-size=\"9\" fill=\"#555\">\(text)\(unit)</text>"
        }
        return svg + "</g>" + labels
    }

    private static func timeAxis(window: HistoryWindow, range: GraphRange, y: Double) -> String {
        let ticks = 6
        var svg = ""
        for tick in 0...ticks {
            let milliseconds = window.startMilliseconds + (window.endMilliseconds - window.startMilliseconds) * Int64(tick) / Int64(ticks)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let x = plotLeft + plotWidth * Double(tick) / Double(ticks)
            let label = HTML.axisLabel(date, withDay: range == .week || range == .month)
            svg += "<text x=\"\(HTML.coordinate(x))\" y=\"\(HTML.coordinate(y + 9))\" text-anchor=\"middle\" font-size=\"9\" fill=\"#555\">\(label)</text>"
        }
        return svg + "<text x=\"\(HTML.coordinate(plotLeft - 24))\" y=\"\(HTML.coordinate(y + 9))\" text-anchor=\"end\" font-size=\"9\" fill=\"#555\">UTC</text>"
    }

    private static func legend(y: Double) -> String {
        var svg = "<g class=\"legend\" font-size=\"9\" fill=\"#333\"><text x=\"\(HTML.coordinate(plotLeft))\" y=\"\(HTML.coordinate(y))\">median RTT, loss:</text>"
        var x = plotLeft + 84
        for entry in lossColours {
            svg += "<rect x=\"\(HTML.coordinate(x))\" y=\"\(HTML.coordinate(y - 7))\" width=\"10\" height=\"7\" fill=\"\(entry.colour)\"/>"
            svg += "<text x=\"\(HTML.coordinate(x + 13))\" y=\"\(HTML.coordinate(y))\">\(HTML.escape(entry.label))</text>"
            x += 48
        }
        x += 4
        svg += "<rect x=\"\(HTML.coordinate(x))\" y=\"\(HTML.coordinate(y - 7))\" width=\"10\" height=\"7\" fill=\"#8c8c8c\"/><text x=\"\(HTML.coordinate(x + 13))\" y=\"\(HTML.coordinate(y))\">p25–p75</text>"
        svg += "<rect x=\"\(HTML.coordinate(x + 62))\" y=\"\(HTML.coordinate(y - 7))\" width=\"10\" height=\"7\" fill=\"#c4c4c4\"/><text x=\"\(HTML.coordinate(x + 75))\" y=\"\(HTML.coordinate(y))\">p10–p90</text>"
        return svg + "</g>"
    }
}
