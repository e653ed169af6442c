import Foundation
import MongoKit

/// Why a migration command stopped, in words a user can act on.
public enum MigrationError: Error, CustomStringConvertible {
    case lockBusy(holder: LockHolder, waited: TimeInterval)
    case lockLost(String)
    /// `apply` or `down` will not go on until the user decides (resolve, down, or restore the file).
    case blocked(String)
    /// A migration stopped on an error that running it again will not fix.
    case failed(version: Int, title: String, message: String)
    /// The server went away mid-migration and did not come back in time; the dirty record stays.
    case interrupted(version: Int, underlying: MongoError)
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .lockBusy(let holder, let waited):
            let waitedText = waited > 0 ? " after waiting \(Int(waited)) s" : ""
            return "another runner holds the migration lock\(waitedText): \(holder). Pass --wait SECONDS to wait for it."
        case .lockLost(let reason): return "lost the migration lock: \(reason); nothing more was started"
        case .blocked(let message): return message
        case .failed(let version, let title, let message):
            return "migration \(version) (\(title)) failed: \(message)"
        case .interrupted(let version, let underlying):
            return "migration \(version) was interrupted (\(underlying)); it is recorded as dirty and `migrate apply` resumes it"
        case .invalidRequest(let message): return message
        }
    }
}
