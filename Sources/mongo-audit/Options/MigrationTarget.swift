import ArgumentParser
import AuditKit
import Foundation
import MigrationKit
import MongoKit
import SpecSupport

/// The database and migration files every migrate subcommand works on.
struct MigrationTarget: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to migrate (default: the connection string's path).")
    var database: String?

    @Option(name: .long, help: "The directory of migration files.")
    var dir = "Migrations"

    @Option(name: .long, help: "How long to wait for any one reply, in milliseconds; a longer index build is waited for by polling.")
    var socketTimeoutMS: Int32 = 60_000

    func validate() throws {
        try requireFlag("--socket-timeout-ms", socketTimeoutMS, in: 1_000...3_600_000)
    }

    func databaseName() throws -> String {
        guard let name = try database ?? connection.databaseInURI() else {
            throw ValidationError("no database to migrate: give --database, or a path in the connection string")
        }
        return name
    }

    func migrations() throws -> [Migration] {
        do {
            return try MigrationDirectory(path: dir).loadMigrations()
        } catch let error as SpecError where error.file == dir {
            throw SpecError(
                file: error.file, line: error.line, column: error.column, field: error.field, message: error.message + " (create it, or pass --dir)")
        }
    }

    /// A client whose every wait on a reply is bounded. An index build that outlasts the socket timeout is
    /// not lost: the runner retries the step, finds the build in progress on the server and waits for it
    /// with short polls, so a frozen server is noticed within the timeout instead of hours later.
    func connect() throws -> MongoDatabase {
        try connection.timeouts.client(uri: connection.resolvedURI, socketTimeoutMS: socketTimeoutMS, maxTimeMS: Int(socketTimeoutMS) - 500)
            .database(databaseName())
    }
}
