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

/// `--server-selection-timeout-ms`: how long any command waits for a server.
struct ServerSelectionTimeout: ParsableArguments {
    @Option(name: .long, help: "How long to wait for a suitable server before giving up, in milliseconds.")
    var serverSelectionTimeoutMS: Int32 = 10_000

    func validate() throws {
        try requireFlag("--server-selection-timeout-ms", serverSelectionTimeoutMS, in: 1...3_600_000)
    }

    /// A client of a history's deployment (`--history mongodb://…`), open until the process exits.
    func historyClient(uri: String) throws -> MongoClient {
        let client = try MongoClient(uri: uri, options: ClientOptions(serverSelectionTimeoutMS: serverSelectionTimeoutMS))
        clientsOpenUntilExit.append(client)
        return client
    }
}
