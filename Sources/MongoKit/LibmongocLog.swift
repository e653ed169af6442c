import CMongoc
import Foundation
import Logging

/// libmongoc's own log, routed into swift-log under `label`: its errors as errors, everything else at debug
/// (trace at trace). Its warnings are chatter too: an ignored `exhaust` on every scan, and failures that
/// MongoKit reports itself as errors. Lines pass through the redactors of every client created so far, so
/// a password never reaches a log handler.
package enum LibmongocLog {
    package static let label = "mongo-audit.libmongoc"

    private static let lock = NSLock()
    nonisolated(unsafe) private static var secrets: [String] = []

    /// Called once, with mongoc_init.
    static func install() {
        mongoc_log_set_handler({ level, domain, message, _ in LibmongocLog.log(level, domain, message) }, nil)
    }

    /// Hides this client's password from every later log line (of any client: libmongoc's log is global).
    static func hideSecrets(of redactor: Redactor) {
        guard !redactor.secrets.isEmpty else { return }
        lock.lock()
        secrets += redactor.secrets.filter { !secrets.contains($0) }
        lock.unlock()
    }

    static func level(_ level: mongoc_log_level_t) -> Logger.Level {
        switch level {
        case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL: return .error
        case MONGOC_LOG_LEVEL_TRACE: return .trace
        default: return .debug
        }
    }

    private static func log(_ mongocLevel: mongoc_log_level_t, _ domain: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
        // A logger per line: made after the application bootstrapped LoggingSystem, whenever that was.
        let logger = Logger(label: label)
        let level = level(mongocLevel)
        guard logger.logLevel <= level, let message else { return }
        lock.lock()
        let hidden = secrets
        lock.unlock()
        let text = hidden.reduce(String(cString: message)) { hide($1, in: $0) }
        logger.log(level: level, "\(text)", metadata: domain.map { ["domain": "\(String(cString: $0))"] })
    }

    /// `text` with `secret` replaced by `*****`, ignoring case (libmongoc lowercases what it quotes from a URI,
    /// option names). A secret shorter than four characters is hidden only where it stands alone (not inside a
    /// longer run of letters and digits): every "p" of a line replaced would leave the line unreadable and hide
    /// nothing a reader could tell was the secret.
    static func hide(_ secret: String, in text: String) -> String {
        guard secret.count < 4 else { return text.replacingOccurrences(of: secret, with: "*****", options: .caseInsensitive) }
        let pattern = "(?<![\\p{L}\\p{N}])" + NSRegularExpression.escapedPattern(for: secret) + "(?![\\p{L}\\p{N}])"
        guard let expression = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else {
            return text.replacingOccurrences(of: secret, with: "*****", options: .caseInsensitive)
        }
        return expression.stringByReplacingMatches(
            in: text, range: NSRange(text.startIndex..., in: text), withTemplate: NSRegularExpression.escapedTemplate(for: "*****"))
    }
}
