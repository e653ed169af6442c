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

    func databaseName() throws -> String {
        guard let name = database ?? connection.databaseInURI else {
            throw ValidationError("no database to migrate: give --database, or a path in the connection string")
        }
        return name
    }

    func migrations() throws -> [Migration] {
        do {
            return try MigrationDirectory(path: dir).loadMigrations()
        } catch let error as SpecError where error.file == dir {
            throw SpecError(file: error.file, line: error.line, column: error.column, field: error.field, message: error.message + " (create it, or pass --dir)")
        }
    }

    /// A client whose socket timeout outlasts an index build of hours (the default gives up after 5 minutes).
    func connect() throws -> MongoDatabase {
        let options = ClientOptions(serverSelectionTimeoutMS: connection.serverSelectionTimeoutMS, socketTimeoutMS: 86_400_000)
        return try MongoClient(uri: connection.resolvedURI, options: options).database(databaseName())
    }
}
