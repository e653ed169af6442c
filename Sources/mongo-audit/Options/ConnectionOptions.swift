import ArgumentParser
import Foundation
import MongoKit

/// Clients of a command stay open until the process exits: destroying a libmongoc pool joins its
/// monitoring threads, which takes up to half a second and gains nothing right before exit.
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

    @Option(name: .long, help: "How long to wait for a suitable server before giving up, in milliseconds.")
    var serverSelectionTimeoutMS: Int32 = 10_000

    var resolvedURI: String {
        uri ?? ProcessInfo.processInfo.environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017"
    }

    func connect() throws -> MongoClient {
        let client = try MongoClient(uri: resolvedURI, options: ClientOptions(serverSelectionTimeoutMS: serverSelectionTimeoutMS))
        clientsOpenUntilExit.append(client)
        return client
    }

    /// The database named in the connection string's path, if any.
    var databaseInURI: String? {
        guard let schemeEnd = resolvedURI.range(of: "://") else { return nil }
        let rest = resolvedURI[schemeEnd.upperBound...].split(separator: "?", maxSplits: 1).first ?? ""
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let name = rest[rest.index(after: slash)...]
        return name.isEmpty ? nil : String(name)
    }
}
