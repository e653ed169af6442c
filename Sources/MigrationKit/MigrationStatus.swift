import Foundation
import MongoKit

/// Where one migration stands: its file against its record.
public struct MigrationStatus: Sendable {
    public enum State: String, Sendable {
        case applied, pending, failed
        /// Started and never finished (the dirty marker): `apply` resumes it.
        case interrupted
        /// A `down` started and never finished.
        case reverting
        /// Applied, but the file's checksum is not the recorded one.
        case changed
        /// Recorded, but its file is gone.
        case missingFile = "missing file"
    }

    public let version: Int
    public let title: String
    public let state: State
    public let record: ChangelogRecord?
    public let migration: Migration?

    /// Whether the state needs a decision before `apply` goes on.
    public var needsAttention: Bool { [.failed, .reverting, .changed].contains(state) }

    /// Every migration known from files or records, in version order.
    public static func all(migrations: [Migration], records: [ChangelogRecord]) -> [MigrationStatus] {
        let versions = Set(migrations.map(\.version)).union(records.map(\.version)).sorted()
        return versions.map { version in
            let migration = migrations.first { $0.version == version }
            let record = records.first { $0.version == version }
            let state: State
            switch (migration, record?.state) {
            case (_, nil): state = .pending
            case (nil, _): state = .missingFile
            case (_, .failed): state = .failed
            case (_, .reverting): state = .reverting
            case (let migration?, .applying): state = migration.checksum == record?.checksum ? .interrupted : .changed
            case (let migration?, .applied): state = migration.checksum == record?.checksum ? .applied : .changed
            }
            return MigrationStatus(
                version: version, title: migration?.title ?? record?.title ?? "", state: state, record: record, migration: migration)
        }
    }
}
