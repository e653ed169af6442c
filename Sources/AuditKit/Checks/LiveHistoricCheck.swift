import Foundation
import MongoKit
import SpecSupport

/// Classifies each recording as live or historic and flags the ones whose times cannot be right.
public struct LiveHistoricCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "live_historic",
        name: "Live and historic recordings",
        summary: "Counts live and historic recordings by a configurable rule (default: live when the end time is "
            + "missing, null or later than now) and flags end before start, start in the future, live recordings "
            + "that started too long ago to still be running, and deleted recordings still live.",
        defaultSeverity: .high,
        needs: "find on the collection (the read role); one shared pass",
        options: [
            CheckOption("collection", "name", "the collection of recordings", required: true),
            CheckOption("start_field", "path", "the start time field (default start_time)"),
            CheckOption("end_field", "path", "the end time field (default end_time)"),
            CheckOption("deleted_field", "path", "a boolean field marking deleted recordings (optional)"),
            CheckOption("live_when", "list", "any of end_missing, end_null, end_in_future (default all three)"),
            CheckOption("max_live_days", "number", "a live recording older than this is flagged (default 30)"),
        ])

    public static let examples = [
        CheckExample(
            "one live and one historic recording",
            setup: [[
                "insert": "recordings",
                "documents": [
                    ["start_time": .datetime(Date().addingTimeInterval(-3600))],
                    ["start_time": .datetime(Date().addingTimeInterval(-7200)), "end_time": .datetime(Date().addingTimeInterval(-3600))],
                ],
            ]],
            entry: "collection: recordings", passes: true),
        CheckExample(
            "an end before its start",
            setup: [[
                "insert": "recordings",
                "documents": [["start_time": .datetime(Date().addingTimeInterval(-3600)), "end_time": .datetime(Date().addingTimeInterval(-7200))]],
            ]],
            entry: "collection: recordings", passes: false),
        CheckExample(
            "a start in the future",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(86_400))]]]],
            entry: "collection: recordings", passes: false),
        CheckExample(
            "a deleted recording still live",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(-60)), "deleted": true]]]],
            entry: "collection: recordings\ndeleted_field: deleted", passes: false),
        CheckExample(
            "live for a year",
            setup: [["insert": "recordings", "documents": [["start_time": .datetime(Date().addingTimeInterval(-365 * 86_400))]]]],
            entry: "collection: recordings\nmax_live_days: 30", passes: false),
    ]

    enum LiveRule: String, CaseIterable {
        case endMissing = "end_missing", endNull = "end_null", endInFuture = "end_in_future"
    }

    let collectionName: String
    let startField: String
    let endField: String
    let deletedField: String?
    let liveWhen: Set<LiveRule>
    let maxLiveDays: Double
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { [startField, endField] + (deletedField.map { [$0] } ?? []) }

    public init(options: SpecFields) throws {
        collectionName = try options.required("collection").string()
        func path(_ name: String, _ fallback: String?) throws -> String? {
            guard let node = options[name] else { return fallback }
            let value = try node.string()
            try node.validateFieldPath(value)
            return value
        }
        startField = try path("start_field", "start_time")!
        endField = try path("end_field", "end_time")!
        deletedField = try path("deleted_field", nil)
        if let node = options["live_when"] {
            liveWhen = Set(
                try node.array().map { item in
                    let text = try item.string()
                    guard let rule = LiveRule(rawValue: text) else {
                        throw item.error("expected one of \(LiveRule.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return rule
                })
            guard !liveWhen.isEmpty else { throw node.error("the list must not be empty") }
        } else {
            liveWhen = Set(LiveRule.allCases)
        }
        maxLiveDays = try options["max_live_days"].map { node in
            let days = try node.double()
            guard days > 0 else { throw node.error("must be a positive number of days") }
            return days
        } ?? 30
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
        @exclusivity(unchecked) var live = 0
        @exclusivity(unchecked) var historic = 0
        @exclusivity(unchecked) var endBeforeStart = Examples()
        @exclusivity(unchecked) var endBeforeStartCount = 0
        @exclusivity(unchecked) var startInFuture = Examples()
        @exclusivity(unchecked) var startInFutureCount = 0
        @exclusivity(unchecked) var liveTooLong = Examples()
        @exclusivity(unchecked) var liveTooLongCount = 0
        @exclusivity(unchecked) var deletedLive = Examples()
        @exclusivity(unchecked) var deletedLiveCount = 0

        let liveWhenMissing: Bool
        let liveWhenNull: Bool
        let liveWhenFuture: Bool

        init(check: LiveHistoricCheck, now: Date, start: Int, end: Int, deleted: Int?) {
            self.check = check
            startSlot = start
            endSlot = end
            deletedSlot = deleted
            nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
            oldestLiveStartMilliseconds = nowMilliseconds - Int64(check.maxLiveDays * 86_400_000)
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
            case .null?: isLive = liveWhenNull
            default: isLive = end.map { $0 > nowMilliseconds && liveWhenFuture } ?? false
            }
            if isLive { live += 1 } else { historic += 1 }
            if let start, let end, end < start {
                endBeforeStartCount += 1
                endBeforeStart.add(fields)
            }
            if let start, start > nowMilliseconds {
                startInFutureCount += 1
                startInFuture.add(fields)
            }
            if isLive, let start, start < oldestLiveStartMilliseconds {
                liveTooLongCount += 1
                liveTooLong.add(fields)
            }
            if isLive, let deletedSlot, fields.bool(deletedSlot) == true {
                deletedLiveCount += 1
                deletedLive.add(fields)
            }
        }

        func findings(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> [Finding] {
            let id = LiveHistoricCheck.description.identifier
            let collection = check.collectionName
            let start = check.startField
            let end = check.endField
            var findings = [
                Finding(
                    check: id, collection: collection, severity: .info,
                    title: "\(live) live and \(historic) historic recordings\(scan.sampled ? " in the sample" : "")",
                    impact: "Live: \(check.liveWhen.map(\.rawValue).sorted().joined(separator: ", ")) (\(end) against now).",
                    details: ["live": scan.describe(live), "historic": scan.describe(historic)])
            ]
            func flag(_ count: Int, _ examples: Examples, _ title: String, _ impact: String, _ filter: String) {
                guard count > 0 else { return }
                findings.append(
                    Finding(
                        check: id, collection: collection, severity: severity, title: title, impact: impact,
                        fix: "find them: db.getSiblingDB(\"\(context.database.name)\").\(collection).find(\(filter))",
                        details: ["count": scan.describe(count), "examples": examples.text]))
            }
            flag(
                endBeforeStartCount, endBeforeStart, "\(endBeforeStartCount) recording(s) end before they start",
                "Durations come out negative and time-range queries miss or double-count these recordings.",
                "{$expr: {$lt: [\"$\(end)\", \"$\(start)\"]}, \(end): {$type: \"date\"}}")
            flag(
                startInFutureCount, startInFuture, "\(startInFutureCount) recording(s) start in the future",
                "A start time later than now means a clock or timezone error upstream; such recordings count as live.",
                "{\(start): {$gt: new Date()}}")
            flag(
                liveTooLongCount, liveTooLong,
                "\(liveTooLongCount) live recording(s) started more than \(Int(check.maxLiveDays)) days ago",
                "A recording that old is unlikely to still run: its end time was probably never written.",
                "{\(end): null, \(start): {$lt: new Date(Date.now() - \(Int(check.maxLiveDays)) * 86400000)}}")
            if let deleted = check.deletedField {
                flag(
                    deletedLiveCount, deletedLive, "\(deletedLiveCount) deleted recording(s) are still live",
                    "A deleted recording should have ended; consumers that list live recordings show deleted ones.",
                    "{\(deleted): true, \(end): null}")
            }
            return findings
        }
    }
}
