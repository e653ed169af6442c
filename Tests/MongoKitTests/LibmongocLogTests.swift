import Foundation
import Logging
import XCTest

@testable import MongoKit

/// libmongoc's own log lines reach swift-log, with passwords hidden.
final class LibmongocLogTests: XCTestCase {
    func testLibmongocWarningReachesTheLogHandlerWithoutThePassword() throws {
        CapturedLog.bootstrapOnce()
        // libmongoc warns about a URI option it does not know and names it: here the password itself.
        // libmongoc lowercases it.
        _ = try MongoClient(uri: "mongodb://auditor:Hunter2Pass@127.0.0.1:9/?Hunter2Pass=1")
        let lines = CapturedLog.lines(label: LibmongocLog.label)
        XCTAssertTrue(lines.contains { $0.level == .debug && $0.message.contains("Unsupported URI option") }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.message.lowercased().contains("hunter2pass") }, "\(lines)")
    }

    /// A short secret is hidden where it stands alone, not inside words (another client of the same process
    /// may have a one-letter password); a longer one wherever it appears, in any case.
    func testShortSecretsAreHiddenAsWholeTokens() {
        XCTAssertEqual(LibmongocLog.hide("p", in: "Unsupported URI option \"p\""), "Unsupported URI option \"*****\"")
        XCTAssertEqual(LibmongocLog.hide("p", in: "p=1&P:2"), "*****=1&*****:2")
        XCTAssertEqual(LibmongocLog.hide("a.b", in: "axb a.b"), "axb *****")
        XCTAssertEqual(LibmongocLog.hide("Hunter2Pass", in: "option hunter2passes"), "option *****es")
    }
}

/// Every log line of the test process, at every level (LoggingSystem is bootstrapped once per process).
enum CapturedLog {
    struct Line {
        let label: String
        let level: Logger.Level
        let message: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var captured: [Line] = []
    private static let bootstrapped: Void = LoggingSystem.bootstrap { label in Handler(label: label) }

    static func bootstrapOnce() { _ = bootstrapped }

    static func lines(label: String) -> [Line] {
        lock.lock()
        defer { lock.unlock() }
        return captured.filter { $0.label == label }
    }

    struct Handler: LogHandler {
        let label: String
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            CapturedLog.lock.lock()
            CapturedLog.captured.append(Line(label: label, level: event.level, message: event.message.description))
            CapturedLog.lock.unlock()
        }
    }
}
