import ArgumentParser
import AuditKit
import Foundation
import MigrationKit
import MongoKit

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index migrations: versioned files in Migrations/, planned first, applied with a record, reversible.",
        discussion: """
            A migration is a YAML file named {version}_{title}.yml with an `up:` list of operations
            (create_indexes, drop_index, hide_index, unhide_index, set_validator) and, unless every operation
            reverses itself, a `down:` list. What was applied is recorded in the collection
            \(Changelog.collectionName) of the target database; one runner at a time holds the lock in
            \(MigrationLock.collectionName).
            """,
        subcommands: [
            MigratePlan.self, MigrateApply.self, MigrateStatus.self, MigrateDown.self, MigrateResolve.self, MigrateNew.self,
            MigrateEmit.self, MigrateBench.self,
        ])
}

/// `--commit-quorum majority|votingMembers|N`
func commitQuorumValue(_ text: String?) -> BSONValue? {
    guard let text else { return nil }
    return Int32(text).map(BSONValue.int32) ?? .string(text)
}

/// Turns migration errors into their message and exit code (MongoError and SpecError are mapped by main).
func reportingMigrationErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as MigrationError {
        printError(error.description)
        switch error {
        case .interrupted(_, let underlying): throw AuditExit(code: AuditExitCode(underlying))
        case .invalidRequest: throw AuditExit(code: .invalidInput)
        case .lockBusy, .lockLost, .blocked, .failed: throw AuditExit(code: .commandFailed)
        }
    }
}
