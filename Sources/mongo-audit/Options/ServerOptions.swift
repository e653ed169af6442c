import ArgumentParser
import MongoKit

/// `--max-time-ms`: one meaning and one default in every command that reads a database.
struct OperationTimeLimit: ParsableArguments {
    @Option(name: .customLong("max-time-ms"), help: "Time limit the server applies to each operation, in milliseconds.")
    var maxTimeMS = 60_000

    func validate() throws {
        try requireFlag("--max-time-ms", maxTimeMS, in: 1...86_400_000)
    }
}

/// `--read-preference`: where a command's reads go on a replica set.
struct ReadPreferenceOption: ParsableArguments {
    @Option(name: .long, help: "Where scans and checks read: primary, primaryPreferred, secondary, secondaryPreferred (default), nearest.")
    var readPreference: ReadPreference = .secondaryPreferred
}

/// The connection timeouts every command that connects shares: `--server-selection-timeout-ms`, and the
/// one way its clients are made.
struct ConnectionTimeouts: ParsableArguments {
    @Option(name: .long, help: "How long to wait for a suitable server before giving up, in milliseconds.")
    var serverSelectionTimeoutMS: Int32 = 10_000

    func validate() throws {
        try requireFlag("--server-selection-timeout-ms", serverSelectionTimeoutMS, in: 1...3_600_000)
    }

    /// A client whose every wait is bounded: selecting a server and connecting by this flag (connecting by
    /// ten seconds at most), a reply by `socketTimeoutMS`, and a read that names no time limit by
    /// `maxTimeMS` on the server. Open until the process exits: destroying a libmongoc pool joins its
    /// monitoring threads, which takes up to half a second and gains nothing right before exit.
    func client(uri: String, socketTimeoutMS: Int32 = 300_000, maxTimeMS: Int = 290_000) throws -> MongoClient {
        let client = try MongoClient(
            uri: uri,
            options: ClientOptions(
                serverSelectionTimeoutMS: serverSelectionTimeoutMS, connectTimeoutMS: min(serverSelectionTimeoutMS, 10_000),
                socketTimeoutMS: socketTimeoutMS, defaultMaxTimeMS: maxTimeMS))
        clientsOpenUntilExit.append(client)
        return client
    }
}
