import Foundation
import MongoKit
import ScanKernel
import SpecSupport
import TextEscaping

/// Classifies each document (a recording, a session, a job: the spec's `noun`) as live or historic by its
/// start and end times, and flags the ones whose times cannot be right.
public struct LiveHistoricCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "live_historic",
        name: "Live and historic documents",
        summary: "Counts live and historic documents (recordings, sessions, jobs: `noun`) by a configurable rule (default: "
            + "live when the end time is missing, null or later than now) and flags end before start, start in the future, "
            + "live documents that started too long ago to still be running, and deleted documents still live.",
        defaultSeverity: .high,
        needs: "find on the collection (the read role); one shared pass",
        options: [
            Options.collection, Options.startField, Options.endField, Options.deletedField, Options.liveWhen, Options.maxLiveDays,
            Options.noun,
        ],
        metrics: [.worseUp("count", .documents), .notCompared("live", .documents), .notCompared("historic", .documents)])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection of timed documents")
        static let noun = TypedOption<String>.text("noun", "what one document is called in findings, singular (default document)")
        static let startField = TypedOption<String>.path("start_field", "the start time field (default start_time)")
        static let endField = TypedOption<String>.path("end_field", "the end time field (default end_time)")
        static let deletedField = TypedOption<String>.path("deleted_field", "a boolean field marking deleted documents (optional)")
        static let liveWhen = TypedOption<Set<LiveRule>>(
            "live_when", type: "list", "any of end_missing, end_null, end_in_future (default all three)"
        ) { node in
            Set(
                try node.nonEmptyList { item in
                    let text = try item.string()
                    guard let rule = LiveRule(rawValue: text) else {
                        throw item.error("expected one of \(LiveRule.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return rule
                })
        }
        static let maxLiveDays = TypedOption<Double>.number(
            "max_live_days", "a live document older than this is flagged (default 30)", in: 0.001...36_500)
    }

    public static let examples = [
        CheckExample(
            "one live and one historic recording",
            setup: [
                [
                    "insert": "recordings",
                    "documents": [
                        ["start_time": .datetime(Date().addingTimeInterval(-3600))],
                        ["start_time": .datetime(Date().addingTimeInterval(-7200)), "end_time": .datetime(Date().addingTimeInterval(-3600))],
                    ],
                ]
            ],
            entry: "collection: recordings", expect: [ExpectedFinding("recordings/live_historic", .info, ["live": 1, "historic": 1])]),
        CheckExample(
            "an end before its start",
            setup: [
                [
                    "insert": "recordings",
                    "documents": [["start_time": .datetime(Date().addingTimeInterval(-3600)), "end_time": .datetime(Date().addingTimeInterval(-7200))]],
                ]
            ],
            entry: "collection: recordings", expect: [ExpectedFinding("recordings/end_before_start", .high, ["count": 1])]),
        CheckExample(
            "a start in the future",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(86_400))]]]],
            entry: "collection: recordings", expect: [ExpectedFinding("recordings/start_in_future", .high, ["count": 1])]),
        CheckExample(
            "a deleted recording still live",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(-60)), "deleted": true]]]],
            entry: "collection: recordings\ndeleted_field: deleted", expect: [ExpectedFinding("recordings/deleted_live", .high, ["count": 1])]),
        CheckExample(
            "live for a year",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(-365 * 86_400))]]]],
            entry: "collection: recordings\nmax_live_days: 30", expect: [ExpectedFinding("recordings/live_too_long", .high, ["count": 1])]),
    ]

    enum LiveRule: String, CaseIterable, Sendable {
        case endMissing = "end_missing", endNull = "end_null", endInFuture = "end_in_future"
    }

    let collectionName: String
    let startField: String
    let endField: String
    let deletedField: String?
    let liveWhen: Set<LiveRule>
    let maxLiveDays: Double
    /// What one document is called in findings ("recording", "session").
    let noun: String
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { [startField, endField] + (deletedField.map { [$0] } ?? []) }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        startField = try options.value(Options.startField, default: "start_time")
        endField = try options.value(Options.endField, default: "end_time")
        deletedField = try options.value(Options.deletedField)
        liveWhen = try options.value(Options.liveWhen, default: Set(LiveRule.allCases))
        maxLiveDays = try options.value(Options.maxLiveDays, default: 30)
        noun = try options.value(Options.noun, default: "document")
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Accumulator(
            check: self, now: context.now, start: fields.index(of: startField)!, end: fields.index(of: endField)!,
            deleted: deletedField.map { fields.index(of: $0)! })
    }

    final class Accumulator: DocumentAccumulator {
        let check: LiveHistoricCheck
        let startSlot: Int
        let endSlot: Int
        let deletedSlot: Int?
        let nowMilliseconds: Int64
        let oldestLiveStartMilliseconds: Int64
        let tally = AccumulatorState(Tally())

        /// What the pass counts; two tallies of disjoint parts add up to the tally of both.
        struct Tally {
            var live = 0
            var historic = 0
            var endBeforeStart = Examples()
            var endBeforeStartCount = 0
            var startInFuture = Examples()
            var startInFutureCount = 0
            var liveTooLong = Examples()
            var liveTooLongCount = 0
            var deletedLive = Examples()
            var deletedLiveCount = 0

            mutating func merge(_ other: Tally) {
                live += other.live
                historic += other.historic
                endBeforeStartCount += other.endBeforeStartCount
                endBeforeStart.merge(other.endBeforeStart)
                startInFutureCount += other.startInFutureCount
                startInFuture.merge(other.startInFuture)
                liveTooLongCount += other.liveTooLongCount
                liveTooLong.merge(other.liveTooLong)
                deletedLiveCount += other.deletedLiveCount
                deletedLive.merge(other.deletedLive)
            }
        }

        let liveWhenMissing: Bool
        let liveWhenNull: Bool
        let liveWhenFuture: Bool

        init(check: LiveHistoricCheck, now: Date, start: Int, end: Int, deleted: Int?) {
            self.check = check
            startSlot = start
            endSlot = end
            deletedSlot = deleted
            nowMilliseconds = clampedMilliseconds(now)
            // max_live_days is at most 36,500 days (its option's range): no overflow.
            oldestLiveStartMilliseconds = nowMilliseconds &- Int64(check.maxLiveDays * 86_400_000)
            liveWhenMissing = check.liveWhen.contains(.endMissing)
            liveWhenNull = check.liveWhen.contains(.endNull)
            liveWhenFuture = check.liveWhen.contains(.endInFuture)
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            let start = fields.dateMilliseconds(startSlot)
            let end = fields.dateMilliseconds(endSlot)
            let isLive: Bool
            switch fields.type(endSlot) {
            case nil: isLive = liveWhenMissing
            // undefined is null to the server (`{end_time: null}` matches it).
            case .null?, .undefined?: isLive = liveWhenNull
            default: isLive = end.map { $0 > nowMilliseconds && liveWhenFuture } ?? false
            }
            let deleted = isLive && deletedSlot.map { fields.bool($0) == true } ?? false
            tally.update { tally in
                if isLive { tally.live += 1 } else { tally.historic += 1 }
                if let start, let end, end < start {
                    tally.endBeforeStartCount += 1
                    tally.endBeforeStart.add(fields)
                }
                if let start, start > nowMilliseconds {
                    tally.startInFutureCount += 1
                    tally.startInFuture.add(fields)
                }
                if isLive, let start, start < oldestLiveStartMilliseconds {
                    tally.liveTooLongCount += 1
                    tally.liveTooLong.add(fields)
                }
                if deleted {
                    tally.deletedLiveCount += 1
                    tally.deletedLive.add(fields)
                }
            }
        }

        func merge(_ other: any DocumentAccumulator) {
            let other = mergeable(other).tally.value
            tally.update { $0.merge(other) }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let tally = tally.value
            let collection = check.collectionName
            let start = check.startField
            let end = check.endField
            let counts: Metrics = ["live": scan.proportion(tally.live), "historic": scan.proportion(tally.historic)]
            var findings = try check.collectionFindings(check.collectionName, documents: scan.scanned, severity: severity, context: context)
            findings += [
                check.finding(
                    "live_historic", severity: .info,
                    title: "\(tally.live) live and \(tally.historic) historic \(check.noun)s\(scan.sampled ? " in the sample" : "")",
                    impact: "Live: \(check.liveWhen.map(\.rawValue).sorted().joined(separator: ", ")) (\(end) against now).",
                    metrics: counts)
            ]
            func flag(_ kind: String, _ count: Int, _ examples: Examples, _ title: String, _ impact: String, _ filter: String) {
                guard count > 0 else { return }
                findings.append(
                    check.finding(
                        kind, severity: severity, title: title, impact: impact,
                        fix: "find them: \(context.shellCollection(collection)).find(\(filter))",
                        metrics: ["count": scan.proportion(count)], examples: examples.ids))
            }
            flag(
                "end_before_start", tally.endBeforeStartCount, tally.endBeforeStart, "\(tally.endBeforeStartCount) \(check.noun)(s) end before they start",
                "Durations come out negative and time-range queries miss or double-count these \(check.noun)s.",
                "{$expr: {$lt: [\(Escape.mongoshString("$" + end)), \(Escape.mongoshString("$" + start))]}, \(Escape.mongoshKey(end)): {$type: \"date\"}}")
            flag(
                "start_in_future", tally.startInFutureCount, tally.startInFuture, "\(tally.startInFutureCount) \(check.noun)(s) start in the future",
                "A start time later than now means a clock or timezone error upstream; such \(check.noun)s count as live.",
                "{\(Escape.mongoshKey(start)): {$gt: new Date()}}")
            flag(
                "live_too_long", tally.liveTooLongCount, tally.liveTooLong,
                "\(tally.liveTooLongCount) live \(check.noun)(s) started more than \(Int(check.maxLiveDays)) days ago",
                "A \(check.noun) that old is unlikely to still run: its end time was probably never written.",
                "{\(Escape.mongoshKey(end)): null, \(Escape.mongoshKey(start)): {$lt: new Date(Date.now() - \(Int(check.maxLiveDays)) * 86400000)}}")
            if let deleted = check.deletedField {
                flag(
                    "deleted_live", tally.deletedLiveCount, tally.deletedLive, "\(tally.deletedLiveCount) deleted \(check.noun)(s) are still live",
                    "A deleted \(check.noun) should have ended; consumers that list live \(check.noun)s show deleted ones.",
                    "{\(Escape.mongoshKey(deleted)): true, \(Escape.mongoshKey(end)): null}")
            }
            return CheckOutput(findings: findings, metrics: counts)
        }
    }
}
