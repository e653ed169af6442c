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

/// Clients of a command stay open until the process exits: destroying a libmongoc pool joins its
/// monitoring threads, which takes up to half a second and gains nothing right before exit.
nonisolated(unsafe) var clientsOpenUntilExit: [MongoClient] = []

/// How to reach the server; shared by every command that connects.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "MongoDB connection string (standalone, replica set, mongodb+srv; TLS and auth options pass through). "
                + "Defaults to $MONGODB_URI, then mongodb://127.0.0.1:27017.", valueName: "uri"))
    var uri: String?

    @Option(name: .long, help: "How long to wait for a suitable server before giving up, in milliseconds.")
    var serverSelectionTimeoutMS: Int32 = 10_000

    var resolvedURI: String {
        uri ?? ProcessInfo.processInfo.environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017"
    }

    func connect() throws -> MongoClient {
        let client = try MongoClient(uri: resolvedURI, options: ClientOptions(serverSelectionTimeoutMS: serverSelectionTimeoutMS))
        clientsOpenUntilExit.append(client)
        return client
    }

    /// The database named in the connection string's path, if any.
    var databaseInURI: String? {
        guard let schemeEnd = resolvedURI.range(of: "://") else { return nil }
        let rest = resolvedURI[schemeEnd.upperBound...].split(separator: "?", maxSplits: 1).first ?? ""
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let name = rest[rest.index(after: slash)...]
        return name.isEmpty ? nil : String(name)
    }
}

extension Severity: ExpressibleByArgument {}
extension ReadPreference: ExpressibleByArgument {}
