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

/// The database and migration files every migrate subcommand works on.
struct MigrationTarget: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to migrate (default: the connection string's path).")
    var database: String?

    @Option(name: .long, help: "The directory of migration files.")
    var dir = "Migrations"

    func databaseName() throws -> String {
        guard let name = database ?? connection.databaseInURI else {
            throw ValidationError("no database to migrate: give --database, or a path in the connection string")
        }
        return name
    }

    func migrations() throws -> [Migration] { try MigrationDirectory(path: dir).migrations }

    /// A client whose socket timeout outlasts an index build of hours (the default gives up after 5 minutes).
    func connect() throws -> Database {
        let options = ClientOptions(serverSelectionTimeoutMS: connection.serverSelectionTimeoutMS, socketTimeoutMS: 86_400_000)
        return try MongoClient(uri: connection.resolvedURI, options: options).database(databaseName())
    }
}

/// Options of the commands that take the migration lock.
struct LockOptions: ParsableArguments {
    @Option(name: .long, help: "Seconds to wait for the lock when another runner holds it (0: stop at once, naming the holder).")
    var wait: Double = 0

    @Option(name: .long, help: "Seconds the lock lives without renewal; it is renewed every third of that while this runner works.")
    var lockTtl: Double = 30

    @Option(name: .long, help: "Seconds to keep retrying through a failover or server restart before stopping with a dirty record.")
    var retryFor: Double = 30

    func validate() throws {
        guard wait >= 0, lockTtl >= 1, retryFor >= 0 else {
            throw ValidationError("--wait and --retry-for take zero or more seconds, --lock-ttl one or more")
        }
    }

    func runnerOptions() -> RunnerOptions {
        var options = RunnerOptions(tool: "mongo-audit \(toolVersion)")
        options.lockWait = wait
        options.lockTimeToLive = lockTtl
        options.retryFor = retryFor
        if isatty(STDERR_FILENO) == 1 {
            // Progress overwrites one terminal line; logs never go to a pipe or file with carriage returns.
            options.progress = { line in FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
        }
        return options
    }
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
