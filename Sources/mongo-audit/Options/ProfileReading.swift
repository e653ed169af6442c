import ArgumentParser
import MongoKit

/// How `profile` and `init` read a database: which one, whole or sampled, from which member, under which time limit.
struct ProfileReading: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to read (default: the URI's path).")
    var database: String?

    @Option(name: .long, help: "Profile a random sample of N documents per collection.")
    var sample: Int?

    @OptionGroup var timeLimit: OperationTimeLimit

    @OptionGroup var reads: ReadPreferenceOption

    var maxTimeMS: Int { timeLimit.maxTimeMS }

    func validate() throws {
        if let sample { try requireFlag("--sample", sample, in: 1...1_000_000_000) }
    }

    /// The database to read, connected with a socket timeout that outlasts the longest operation.
    func open() throws -> MongoDatabase {
        guard let name = try database ?? connection.databaseInURI() else {
            throw ValidationError("no database to read: give --database or a path in the URI")
        }
        return try connection.connect(operationLimitMS: maxTimeMS).database(name).reading(from: reads.readPreference)
    }
}
