import ArgumentParser
import AuditKit
import Foundation
import Logging
import MongoKit
import SpecSupport
import TextEscaping

#if canImport(Glibc)
    import CMalloc
#endif

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
        subcommands: [Audit.self, BaselineCommand.self, Trend.self, Diff.self, ListChecks.self, Migrate.self, Sample.self, Profile.self, Init.self]
    )

    /// Runs the command and turns every error into its message and documented exit code.
    static func main() {
        keepScanBuffersMapped()
        let code: AuditExitCode
        do {
            var command = try parseAsRoot()
            bootstrapLogging(verbose: GlobalOptions.verboseRequested)
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

/// Options of every command that connects (they come with `ConnectionOptions`).
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Log what the MongoDB driver does (debug level) on stderr.")
    var verbose = false

    /// Set while the arguments are parsed, so that main() can set up logging before the command runs.
    nonisolated(unsafe) static var verboseRequested = false

    mutating func validate() throws {
        if verbose { Self.verboseRequested = true }
    }
}

/// Log lines of the libraries (and of libmongoc through MongoKit) go to stderr: warnings and errors by
/// default, debug lines too with --verbose.
func bootstrapLogging(verbose: Bool) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = verbose ? .debug : .warning
        return TerminalTextLogHandler(base: handler)
    }
}

/// A log line quotes names and server messages: its message is escaped as terminal text, so it stays one
/// line and acts on no terminal.
struct TerminalTextLogHandler: LogHandler {
    var base: StreamLogHandler

    func log(event: LogEvent) {
        var event = event
        event.message = "\(Escape.terminal(event.message.description))"
        base.log(event: event)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }
    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }
    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }
    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }
}

/// A scan receives a reply of about a megabyte per batch. By default glibc maps such buffers afresh and
/// hands freed memory straight back, so every batch pays its page faults again (about a third of a scan's
/// CPU time, measured here). Buffers under 32 MB stay on the heap, and up to 64 MB of freed memory stays
/// in the process. A process-wide setting, so the tool makes it, not the libraries.
func keepScanBuffersMapped() {
    #if canImport(Glibc)
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TRIM_THRESHOLD, 64 << 20)
    #endif
}

/// Ends a command with an exit code after its output was printed.
struct AuditExit: Error {
    let code: AuditExitCode
}

/// An error on stderr; messages quote names and files, so each of their lines is escaped as terminal text.
func printError(_ message: String) {
    let escaped = message.split(separator: "\n", omittingEmptySubsequences: false).map { Escape.terminal(String($0)) }.joined(separator: "\n")
    FileHandle.standardError.write(Data("mongo-audit: \(escaped)\n".utf8))
}

extension Severity: ExpressibleByArgument {}
extension ReadPreference: ExpressibleByArgument {}
