import Foundation
import MongoKit

/// Which errors go away by themselves (a failover, a restart, a dropped connection): the runner retries
/// those, its operations being idempotent, instead of recording a failure. Decided on the error's kind,
/// the server's error labels and its error codes, never on message text.
package enum RetryPolicy {
    /// Labels the server (or driver) puts on errors that a retry may cure.
    package static let retryableLabels: Set<String> = ["RetryableWriteError", "TransientTransactionError"]

    /// The codes the retryable-writes specification lists as retryable, by name.
    package static let retryableCodes: [Int: String] = [
        6: "HostUnreachable", 7: "HostNotFound", 89: "NetworkTimeout", 91: "ShutdownInProgress",
        189: "PrimarySteppedDown", 262: "ExceededTimeLimit", 9001: "SocketException", 10107: "NotWritablePrimary",
        11600: "InterruptedAtShutdown", 11602: "InterruptedDueToReplStateChange", 13435: "NotPrimaryNoSecondaryOk",
        13436: "NotPrimaryOrSecondary",
    ]

    package static func isTransient(_ error: Error) -> Bool {
        guard let error = error as? MongoError else { return false }
        switch error {
        // A timeout here is the socket's (the runner sets no maxTimeMS): the build may go on on the server.
        case .network, .serverSelection, .timeout: return true
        // Command errors, write errors and write-concern errors alike.
        case .command(let server): return !server.labels.isDisjoint(with: retryableLabels) || retryableCodes[server.code] != nil
        case .invalidURI, .authentication, .invalidDocument, .other: return false
        }
    }
}
