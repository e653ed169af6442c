import ArgumentParser
import AuditKit
import Foundation
import MongoKit

struct Profile: ParsableCommand {
    enum Format: String, CaseIterable, ExpressibleByArgument { case text, json, html }

    static let configuration = CommandConfiguration(
        abstract: "Discover every path of a database's documents: types, presence, ranges, lengths, distinct values.",
        discussion: """
            One pass per collection (every document, or a random sample with --sample). Array elements are
            written `tags[]`; under arrays, type counts count values and `present` the documents holding one.
            Distinct counts are HyperLogLog estimates (standard error 1.6%), exact for a few values.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to profile (default: the URI's path).")
    var database: String?

    @Option(name: .long, help: "A collection to profile (repeatable; default: every collection).")
    var collection: [String] = []

    @Option(name: .long, help: "Profile a random sample of N documents per collection.")
    var sample: Int?

    @Option(name: .long, help: "The most paths tracked per collection; others are counted as not tracked.")
    var maxPaths = 2_000

    @Option(name: .long, help: "Output format: text, json, html (one self-contained page).")
    var format: Format = .text

    @Option(name: .long, help: "Also write the profile to this file.")
    var output: String?

    @Option(name: .customLong("max-time-ms"), help: "Time limit the server applies to each operation, in milliseconds (0: none).")
    var maxTimeMS = 0

    func validate() throws {
        if let sample { try requireFlag("--sample", sample, in: 1...1_000_000_000) }
        try requireFlag("--max-paths", maxPaths, in: 1...100_000)
        try requireFlag("--max-time-ms", maxTimeMS, in: 0...86_400_000)
    }

    func run() throws {
        let reportFile: ReportFile?
        do {
            reportFile = try output.map { try ReportFile(path: $0, protecting: []) }
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        guard let databaseName = database ?? connection.databaseInURI else {
            throw ValidationError("no database to profile: give --database or a path in the URI")
        }
        let client = try connection.connect(operationLimitMS: maxTimeMS > 0 ? maxTimeMS : 290_000)
        let profiler = DatabaseProfiler(
            collections: collection.isEmpty ? nil : collection, sample: sample, maxPaths: maxPaths, maxTimeMS: maxTimeMS)
        let report = try profiler.run(on: client.database(databaseName))
        let text: String
        switch format {
        case .text: text = report.text
        case .json: text = report.json.text() + "\n"
        case .html: text = report.html
        }
        print(text, terminator: "")
        if let reportFile {
            do {
                try reportFile.write(text)
            } catch {
                printError("\(error)")
                throw AuditExit(code: .invalidInput)
            }
        }
    }
}
