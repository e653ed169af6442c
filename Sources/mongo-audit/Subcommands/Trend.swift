import ArgumentParser
import AuditKit
import Foundation
import MongoKit
import TextEscaping

/// `mongo-audit trend`: each metric's history, as a table with a sparkline, or JSON.
struct Trend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the history of the audits' figures: a table with a sparkline per metric, or JSON.",
        discussion: """
            Metric keys are `check/collection:metric` for a check's own figures, `findingId:metric` for a finding's,
            and `audit:durationSeconds`; a proportion also has `…:metric.share`. --metric takes patterns with *.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(name: .long, help: "The history: a JSON Lines file, or mongodb://host/database[.collection].")
    var history: String

    @Option(name: .long, help: "Only the audits of this database.")
    var database: String?

    @Option(name: .long, help: "Only metrics whose key matches this pattern (* for any text); repeatable.")
    var metric: [String] = []

    @Option(name: .long, help: "Only the last N audits.")
    var last = 30

    @Option(name: .long, help: "Output: text (a table with sparklines) or json.")
    var format: Format = .text

    @OptionGroup var timeouts: ConnectionTimeouts

    func validate() throws {
        try requireFlag("--last", last, in: 1...100_000)
    }

    func run() throws {
        var records: [HistoryRecord]
        do {
            switch try HistoryTarget(history) {
            case .file(let path):
                guard FileManager.default.fileExists(atPath: path) else { throw ReportFile.Refusal(description: "no history at \(path)") }
                records = try HistoryFile(path: path, protecting: []).read(database: database, last: last).records
            case .mongo(let uri, let name, let collection):
                let client = try timeouts.client(uri: uri)
                records = try MongoHistoryStore(collection: client.database(name).collection(collection)).records(database: database, last: last)
            }
        } catch let error as GateFileError {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        } catch let error as ReportFile.Refusal {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        records = Array(records.suffix(last))
        let databases = Set(records.map(\.database))
        var keys: [String] = []
        var seen = Set<String>()
        for record in records {
            for (key, _) in record.metrics where (metric.isEmpty || metric.contains { glob($0, matches: key) }) && seen.insert(key).inserted {
                keys.append(key)
            }
        }
        keys.sort()
        let series = keys.map { key in (key, records.map { $0.value(key) }) }
        switch format {
        case .json:
            let json = JSONValue.object([
                ("schema", .string("mongo-audit/trend")), ("schemaVersion", .integer(1)),
                (
                    "runs",
                    .array(
                        records.map {
                            .object([
                                ("startedAt", .string(isoTime($0.startedAt))), ("database", .string($0.database)), ("outcome", .string($0.outcome)),
                                ("serverVersion", .string($0.serverVersion)),
                            ])
                        })
                ),
                (
                    "metrics",
                    .array(
                        series.map { key, values in
                            .object([
                                ("key", .string(key)),
                                ("values", .array(values.map { $0.map { v in Int64(exactly: v).map(JSONValue.integer) ?? .number(v) } ?? .null })),
                            ])
                        })
                ),
            ])
            print(json.text())
        case .text:
            guard !records.isEmpty else {
                print("no audits in the history\(database.map { " for database \"\(Escape.terminal($0))\"" } ?? "")")
                return
            }
            print(
                "\(records.count) audit(s) of \(databases.sorted().map { "\"\(Escape.terminal($0))\"" }.joined(separator: ", ")) from \(isoTime(records.first!.startedAt)) to \(isoTime(records.last!.startedAt))"
            )
            let width = min(max(keys.map(\.count).max() ?? 6, 6), 90)
            print(
                pad("metric", width) + "  " + ["first", "latest", "change", "min", "max"].map { pad($0, 10, right: true) }.joined(separator: " ") + "  trend")
            for (key, values) in series {
                let present = values.compactMap { $0 }
                guard let first = present.first, let latest = present.last else { continue }
                let change = first == 0 ? (latest == 0 ? "0%" : "new") : String(format: "%+.1f%%", (latest - first) / abs(first) * 100)
                let cells = [short(first), short(latest), change, short(present.min()!), short(present.max()!)]
                print(pad(Escape.terminal(key), width) + "  " + cells.map { pad($0, 10, right: true) }.joined(separator: " ") + "  " + sparkline(values))
            }
        }
    }
}

/// ▁▂▃▄▅▆▇█ scaled between the series' minimum and maximum; a run without the metric is a space.
func sparkline(_ values: [Double?]) -> String {
    let bars = Array("▁▂▃▄▅▆▇█")
    let present = values.compactMap { $0 }
    guard let low = present.min(), let high = present.max() else { return "" }
    return String(
        values.map { value -> Character in
            guard let value else { return " " }
            guard high > low else { return bars[3] }
            return bars[min(bars.count - 1, Int((value - low) / (high - low) * Double(bars.count - 1) + 0.5))]
        })
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let clipped = text.count > width ? String(text.prefix(width - 1)) + "…" : text
    let padding = String(repeating: " ", count: max(0, width - clipped.count))
    return right ? padding + clipped : clipped + padding
}

func short(_ value: Double) -> String {
    if let int = Int(exactly: value) { return String(int) }
    return String(format: abs(value) < 1 ? "%.4f" : "%.2f", value)
}

func isoTime(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
