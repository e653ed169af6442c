import ArgumentParser
import AuditKit
import Foundation
import MongoKit

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a commented starter spec from a database: its collections, indexes, fields, values and references.",
        discussion: """
            Profiles every collection (see `profile`), reads its indexes, and writes a spec that passes on the
            database as it is today and fails once it drifts. An existing file is kept unless --force.
            """)

    @OptionGroup var reading: ProfileReading

    @Option(name: .long, help: "Where to write the spec (default: standard output).")
    var output: String?

    @Flag(name: .long, help: "Replace --output when it exists.")
    var force = false

    func run() throws {
        let specFile = try ReportFile.checked(output, protecting: [], replacing: force)
        let result = try StarterSpec(sample: reading.sample, maxTimeMS: reading.maxTimeMS).generate(from: reading.open())
        guard let specFile, let output else {
            print(result.text, terminator: "")
            return
        }
        try specFile.writeOrExit(result.text)
        let documents = result.profile.collections.reduce(0) { $0 + $1.documents }
        print(
            "wrote \(output): \(result.profile.collections.count) collection(s), \(documents) document(s) profiled; check it with: mongo-audit audit --spec \(output)"
        )
    }
}
