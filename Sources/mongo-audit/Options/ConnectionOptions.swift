import ArgumentParser
import Foundation
import MongoKit

/// Clients of a command stay open until the process exits (see `ConnectionTimeouts.client`).
nonisolated(unsafe) var clientsOpenUntilExit: [MongoClient] = []

/// How to reach the server; shared by every command that connects.
struct ConnectionOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "MongoDB connection string (standalone, replica set, mongodb+srv; TLS and auth options pass through). "
                + "Defaults to $MONGODB_URI, then mongodb://127.0.0.1:27017.", valueName: "uri"))
    var uri: String?

    @OptionGroup var timeouts: ConnectionTimeouts

    var resolvedURI: String {
        uri ?? ProcessInfo.processInfo.environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017"
    }

    /// A client whose every wait is bounded: a read that names no time limit by `operationLimitMS` on the
    /// server, and a reply by that plus a margin of as much again (one to ten seconds), so a frozen server is
    /// given up on then rather than after libmongoc's default five minutes.
    func connect(operationLimitMS: Int = 290_000) throws -> MongoClient {
        let socketTimeoutMS = Int32(clamping: operationLimitMS + min(max(operationLimitMS, 1_000), 10_000))
        return try timeouts.client(uri: resolvedURI, socketTimeoutMS: socketTimeoutMS, maxTimeMS: operationLimitMS)
    }

    /// The database named in the connection string's path, if any; throws when the string is not valid.
    func databaseInURI() throws -> String? {
        try MongoURI(resolvedURI).database
    }
}
