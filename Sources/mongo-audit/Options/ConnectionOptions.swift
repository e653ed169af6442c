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

    func validate() throws {
        try requireFlag("--server-selection-timeout-ms", serverSelectionTimeoutMS, in: 1...3_600_000)
    }

    var resolvedURI: String {
        uri ?? ProcessInfo.processInfo.environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017"
    }

    /// A client whose every wait is bounded: server selection by the flag, and a reply by `operationLimitMS`
    /// plus a margin of as much again (one to ten seconds), so a frozen server is given up on then rather
    /// than after libmongoc's default five minutes.
    func connect(operationLimitMS: Int = 290_000) throws -> MongoClient {
        let socketTimeoutMS = Int32(clamping: operationLimitMS + min(max(operationLimitMS, 1_000), 10_000))
        let client = try MongoClient(
            uri: resolvedURI,
            options: ClientOptions(
                serverSelectionTimeoutMS: serverSelectionTimeoutMS, connectTimeoutMS: min(serverSelectionTimeoutMS, 10_000),
                socketTimeoutMS: socketTimeoutMS))
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
