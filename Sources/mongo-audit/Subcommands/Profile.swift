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

    @OptionGroup var reading: ProfileReading

    @Option(name: .long, help: "A collection to profile (repeatable; default: every collection).")
    var collection: [String] = []

    @Option(name: .long, help: "The most paths tracked per collection; others are counted as not tracked.")
    var maxPaths = 2_000

    @Option(name: .long, help: "Output format: text, json, html (one self-contained page).")
    var format: Format = .text

    @Option(name: .long, help: "Also write the profile to this file.")
    var output: String?

    func validate() throws {
        try requireFlag("--max-paths", maxPaths, in: 1...100_000)
    }

    func run() throws {
        let reportFile = try ReportFile.checked(output, protecting: [])
        let profiler = DatabaseProfiler(
            collections: collection.isEmpty ? nil : collection, sample: reading.sample, maxPaths: maxPaths, maxTimeMS: reading.maxTimeMS)
        let report = try profiler.run(on: reading.open())
        let text: String
        switch format {
        case .text: text = report.text
        case .json: text = report.json.text() + "\n"
        case .html: text = report.html
        }
        print(text, terminator: "")
        try reportFile?.writeOrExit(text)
    }
}
