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

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to describe (default: the URI's path).")
    var database: String?

    @Option(name: .long, help: "Where to write the spec (default: standard output).")
    var output: String?

    @Option(name: .long, help: "Profile a random sample of N documents per collection (the spec may then not pass on every document).")
    var sample: Int?

    @Flag(name: .long, help: "Replace --output when it exists.")
    var force = false

    @Option(name: .customLong("max-time-ms"), help: "Time limit the server applies to each operation, in milliseconds (0: none).")
    var maxTimeMS = 0

    func validate() throws {
        if let sample { try requireFlag("--sample", sample, in: 1...1_000_000_000) }
        try requireFlag("--max-time-ms", maxTimeMS, in: 0...86_400_000)
    }

    func run() throws {
        var specFile: ReportFile?
        if let output {
            do {
                if !force, FileManager.default.fileExists(atPath: output) {
                    throw ReportFile.Refusal(description: "\(output) exists; give --force to replace it")
                }
                specFile = try ReportFile(path: output, protecting: [])
            } catch {
                printError("\(error)")
                throw AuditExit(code: .invalidInput)
            }
        }
        guard let databaseName = database ?? connection.databaseInURI else {
            throw ValidationError("no database to describe: give --database or a path in the URI")
        }
        let client = try connection.connect(operationLimitMS: maxTimeMS > 0 ? maxTimeMS : 290_000)
        let result = try StarterSpec(sample: sample, maxTimeMS: maxTimeMS).generate(from: client.database(databaseName))
        guard let specFile else {
            print(result.text, terminator: "")
            return
        }
        do {
            try specFile.write(result.text)
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        let documents = result.profile.collections.reduce(0) { $0 + $1.documents }
        print("wrote \(output!): \(result.profile.collections.count) collection(s), \(documents) document(s) profiled; check it with: mongo-audit audit --spec \(output!)")
    }
}
