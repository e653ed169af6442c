import AuditKit
import Foundation

extension Audit {
    /// After the report is out: the history record is appended (only now, so an audit that failed half-way
    /// records nothing), and for `--format github` the Markdown report goes to $GITHUB_STEP_SUMMARY.
    func finishGate(_ prepared: PreparedGate, report: AuditReport, context: ReportContext, code: AuditExitCode) throws {
        var failed = false
        do {
            try prepared.appendRecord()
        } catch {
            printError("\(error)")
            failed = true
        }
        if format == .github, let summary = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty {
            do {
                var markdown = try MarkdownReporter().render(report)
                if let gate = context.gate { markdown += gate.markdown }
                try appendText(markdown, to: summary)
            } catch {
                printError("cannot append to $GITHUB_STEP_SUMMARY (\(summary)): \(error)")
                failed = true
            }
        }
        // Like a lost report: the audit's own failure decides, and a passing audit that lost its record does not pass.
        if failed { throw AuditExit(code: code == .passed ? .invalidInput : code) }
    }
}

/// Appends text to a file (created when missing) in one write.
func appendText(_ text: String, to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw ReportFile.Refusal(description: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw ReportFile.Refusal(description: String(cString: strerror(errno))) }
}
