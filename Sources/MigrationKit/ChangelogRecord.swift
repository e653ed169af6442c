import Foundation
import MongoKit

/// What the changelog holds for one migration version.
public struct ChangelogRecord: Equatable, Sendable {
    public enum State: String, Sendable {
        /// Started and not finished: the dirty marker. Left behind by a crash; `apply` resumes it.
        case applying
        case applied
        /// Stopped by an error that will not go away by itself; `apply` refuses to pass it.
        case failed
        /// A `down` started and not finished; `down` resumes it.
        case reverting
    }

    public var version: Int
    public var title: String
    public var file: String
    public var checksum: String
    public var state: State
    public var dirty: Bool
    public var startedAt: Date
    public var finishedAt: Date?
    public var durationSeconds: Double?
    public var host: String
    public var pid: Int
    public var tool: String
    public var error: String?
    /// What each operation did ("created end_time_1", "uuid_1 existed with the same spec: no-op", ...).
    public var outcome: [String]
    /// Per `create_indexes` step (by position in `up`), the indexes that existed before the migration, so that
    /// the derived `down` drops only the indexes this migration created. Written before the step's command.
    public var preexisting: [String: [String]]

    public init(
        version: Int, title: String, file: String, checksum: String, state: State, dirty: Bool, startedAt: Date,
        finishedAt: Date? = nil, durationSeconds: Double? = nil, host: String, pid: Int, tool: String, error: String? = nil,
        outcome: [String] = [], preexisting: [String: [String]] = [:]
    ) {
        self.version = version
        self.title = title
        self.file = file
        self.checksum = checksum
        self.state = state
        self.dirty = dirty
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationSeconds = durationSeconds
        self.host = host
        self.pid = pid
        self.tool = tool
        self.error = error
        self.outcome = outcome
        self.preexisting = preexisting
    }

    init(document: Document) {
        version = document["_id"]?.intValue ?? 0
        title = document["title"]?.stringValue ?? ""
        file = document["file"]?.stringValue ?? ""
        checksum = document["checksum"]?.stringValue ?? ""
        state = State(rawValue: document["state"]?.stringValue ?? "") ?? .failed
        dirty = document["dirty"]?.boolValue ?? false
        startedAt = document["startedAt"]?.dateValue ?? Date(timeIntervalSince1970: 0)
        finishedAt = document["finishedAt"]?.dateValue
        durationSeconds = document["durationSeconds"]?.doubleValue
        host = document["host"]?.stringValue ?? ""
        pid = document["pid"]?.intValue ?? 0
        tool = document["tool"]?.stringValue ?? ""
        error = document["error"]?.stringValue
        outcome = document["outcome"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var preexisting: [String: [String]] = [:]
        for (step, names) in document["preexisting"]?.documentValue?.elements ?? [] {
            preexisting[step] = names.arrayValue?.compactMap(\.stringValue) ?? []
        }
        self.preexisting = preexisting
    }

    /// "applied 2024-05-01 10:00:00 UTC in 12.3 s by host (mongo-audit 0.1.0)"
    public var whenAndWho: String {
        let formatter = ISO8601DateFormatter()
        let when = formatter.string(from: finishedAt ?? startedAt)
        let duration = durationSeconds.map { String(format: " in %.1f s", $0) } ?? ""
        return "\(when)\(duration) by \(host) pid \(pid) (\(tool))"
    }
}
