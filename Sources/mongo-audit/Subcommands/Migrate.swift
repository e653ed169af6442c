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

/// Turns migration errors into their message, what to run next, and the exit code (MongoError and
/// SpecError are mapped by main).
func reportingMigrationErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as MigrationError {
        printError(error.description + (advice(for: error).map { "\n" + $0 } ?? ""))
        switch error {
        case .interrupted(_, let underlying): throw AuditExit(code: AuditExitCode(underlying))
        case .unknownVersion, .nothingToResolve, .commitQuorumNeedsReplicaSet: throw AuditExit(code: .invalidInput)
        case .lockBusy, .lockLost, .blocked, .failed: throw AuditExit(code: .commandFailed)
        }
    }
}

/// The commands and flags that settle a migration error, in this tool's words.
func advice(for error: MigrationError) -> String? {
    switch error {
    case .lockBusy(let holder, _):
        let expiry = holder.expiresAt.map { "; it expires at \(ISO8601DateFormatter().string(from: $0)) unless renewed" } ?? ""
        return "pass --wait SECONDS to wait for it\(expiry)"
    case .blocked(.failed(let version, _, _)):
        return "fix the cause, then `mongo-audit migrate resolve \(version)` to run it again, or `mongo-audit migrate down` to undo what it did"
    case .blocked(.halfReverted(let version, _)):
        return "finish with `mongo-audit migrate down`, or `mongo-audit migrate resolve \(version)`"
    case .blocked(.fileChanged(let version, _, _, _, _)):
        return "restore the file, or accept it with `mongo-audit migrate resolve \(version)`"
    case .blocked(.fileMissing):
        return "restore the file to reverse the migration"
    case .failed(let version, _, .up, _):
        return "fix the cause, then `mongo-audit migrate resolve \(version)` to run it again, or `mongo-audit migrate down` to undo what it did"
    case .failed(let version, _, .down, _):
        return "fix the cause, then `mongo-audit migrate down` again, or `mongo-audit migrate resolve \(version)`"
    case .interrupted:
        return "`mongo-audit migrate apply` resumes it once the server is back (--retry-for SECONDS waits longer)"
    case .unknownVersion, .nothingToResolve, .commitQuorumNeedsReplicaSet, .lockLost:
        return nil
    }
}
