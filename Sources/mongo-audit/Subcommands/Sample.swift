import ArgumentParser
import Foundation
import MongoKit
import SampleData

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the realistic sample database (recordings and metadata, with known defects).",
        discussion: """
            Drops and recreates the `recordings` and `metadata` collections of the target database. The defects
            (missing indexes and fields, live and historic recordings, future start times, end before start,
            duplicate uuids, orphan metadata) are placed deterministically; --manifest writes their exact counts.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to (re)create the sample collections in.")
    var database = "sample"

    @Option(name: .long, help: "How many recordings to generate.")
    var count = 5_000

    @Flag(name: .long, help: "Also create the critical indexes the sample otherwise leaves out.")
    var withAllIndexes = false

    @Option(name: .long, help: "Write the counts of what was generated to this JSON file.")
    var manifest: String?

    func validate() throws {
        try requireFlag("--count", count, in: 1...100_000_000)
    }

    func run() throws {
        let client = try connection.connect()
        let started = Date()
        let interactive = isatty(STDERR_FILENO) == 1
        let generator = SampleDatabase(recordingCount: count, withAllCriticalIndexes: withAllIndexes)
        let result = try generator.create(in: client.database(database)) { written in
            if interactive { FileHandle.standardError.write(Data("\rwriting recordings: \(written)/\(count)".utf8)) }
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        if let manifest {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(result).write(to: URL(fileURLWithPath: manifest))
        }
        print(
            "sample database \"\(database)\": \(result.recordings) recordings (\(result.live) live, \(result.historic) historic), "
                + "\(result.metadata) metadata documents, indexes \(result.recordingIndexes.joined(separator: ", ")) "
                + String(format: "in %.1f s", Date().timeIntervalSince(started)))
    }
}
