import ArgumentParser
import AuditKit
import Foundation
import MongoKit
import SpecSupport

@main
struct MongoAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-audit",
        abstract: "Audit a MongoDB database for data quality and index health, and gate CI on the result.",
        discussion: """
            A spec file (YAML or JSON, default ./Checks/mongo-audit.yml) declares what the database must look
            like; `audit` checks it read-only and reports findings with their impact and the command that fixes them.

            Exit codes:
            \(AuditExitCode.allCases.map { "  \($0.rawValue)  \($0.meaning)" }.joined(separator: "\n"))
            """,
        version: toolVersion,
        subcommands: [Audit.self, ListChecks.self, Migrate.self, Sample.self]
    )

    /// Runs the command and turns every error into its message and documented exit code.
    static func main() {
        MongoClient.keepScanBuffersMapped()
        let code: AuditExitCode
        do {
            var command = try parseAsRoot()
            try command.run()
            code = .passed
        } catch let exit as AuditExit {
            code = exit.code
        } catch let error as SpecError {
            // The message starts with file:line:column and the field, for specs and migration files alike.
            printError("\(error)")
            code = .invalidInput
        } catch let error as MongoError {
            printError(error.description)
            code = AuditExitCode(error)
        } catch {
            // Help and version requests exit 0; every usage error gets the invalid-input code.
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                code = .passed
            } else if error is CleanExit || error is ExitCode {
                exit(withError: error)
            } else {
                printError(fullMessage(for: error))
                code = .invalidInput
            }
        }
        Foundation.exit(code.rawValue)
    }
}

/// Ends a command with an exit code after its output was printed.
struct AuditExit: Error {
    let code: AuditExitCode
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("mongo-audit: \(message)\n".utf8))
}

extension Severity: ExpressibleByArgument {}
extension ReadPreference: ExpressibleByArgument {}
