import ArgumentParser
import AuditKit
import Foundation
import MongoKit

/// `mongo-audit diff OLD.json NEW.json`: what changed between two JSON reports.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two JSON reports (schema v2): new, fixed, worse and better findings, and the metric changes.",
        discussion: "Exits 1 when a finding at or above --fail-on is new or worse, else 0; 2 when a file is not a report.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "The earlier report (`audit --format json`).")
    var old: String

    @Argument(help: "The later report.")
    var new: String

    @Option(name: .long, help: "Relative change of a finding's figure that makes it worse or better (default 0.2).")
    var tolerance = 0.2

    @Option(name: .long, help: "Exit 1 when a new or worse finding is at or above this severity.")
    var failOn: Severity = .high

    @Option(name: .long, help: "Output: text or json.")
    var format: Format = .text

    func run() throws {
        let before: AuditReport, after: AuditReport
        do {
            before = try ReportDecoder.decode(path: old)
            after = try ReportDecoder.decode(path: new)
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        let diff = ReportDiff(old: before, new: after, tolerance: tolerance, failOn: failOn)
        switch format {
        case .json: print(diff.json.text())
        case .text: print(diff.text, terminator: "")
        }
        throw AuditExit(code: diff.failing ? .findings : .passed)
    }
}
