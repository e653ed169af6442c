import Foundation
import MongoKit

/// Why a migration command stopped. The cases carry the facts (versions, files, checksums, the lock's
/// holder, the server's error); `description` states them without telling which command or flag to use,
/// which is the caller's to word.
public enum MigrationError: Error, CustomStringConvertible {
    /// Another runner holds the lock (after waiting `waited` seconds for it).
    case lockBusy(holder: LockHolder, waited: TimeInterval)
    /// The lock expired and another runner took it; nothing more was started.
    case lockLost(reason: String)
    /// `apply` or `down` will not go on until the user decides (resolve, down, or restore the file).
    case blocked(Blocker)
    /// A migration stopped on an error that running it again will not fix; it is recorded as failed.
    case failed(version: Int, title: String, direction: Direction, underlying: Error)
    /// The server went away mid-migration and did not come back in time; the dirty record stays.
    case interrupted(version: Int, underlying: MongoError)
    /// No migration has this version.
    case unknownVersion(Int, known: [Int])
    /// `resolve` of a version that has no record, or whose file is gone.
    case nothingToResolve(version: Int, reason: NothingToResolve)
    /// A commit quorum was asked for on a standalone server.
    case commitQuorumNeedsReplicaSet

    public enum Direction: String, Sendable { case up, down }

    public enum NothingToResolve: Sendable { case noRecord, fileMissing }

    /// What stops `apply` or `down` until the user decides.
    public enum Blocker: Sendable {
        /// The migration failed; `error` is the recorded message.
        case failed(version: Int, title: String, error: String?)
        /// A `down` of the migration started and did not finish.
        case halfReverted(version: Int, title: String)
        /// The file's checksum is not the recorded one (`wasApplied`: recorded as applied, else as started).
        case fileChanged(version: Int, file: String, recordedChecksum: String, currentChecksum: String, wasApplied: Bool)
        /// The file of a recorded migration is gone, so it cannot be reversed.
        case fileMissing(version: Int, file: String)

        public var version: Int {
            switch self {
            case .failed(let version, _, _), .halfReverted(let version, _), .fileChanged(let version, _, _, _, _),
                .fileMissing(let version, _):
                return version
            }
        }
    }

    /// The server's error behind the stop, if one was: its code, code name and labels.
    public var serverError: ServerError? {
        switch self {
        case .interrupted(_, let underlying): return underlying.serverError
        case .failed(_, _, _, let underlying): return (underlying as? MongoError)?.serverError
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .lockBusy(let holder, let waited):
            let waitedText = waited > 0 ? " after waiting \(Int(waited)) s" : ""
            return "another runner holds the migration lock\(waitedText): \(holder)"
        case .lockLost(let reason): return "lost the migration lock: \(reason); nothing more was started"
        case .blocked(let blocker): return blocker.description
        case .failed(let version, let title, let direction, let underlying):
            return "migration \(version) (\(title)) failed\(direction == .down ? " while reverting" : ""): \(underlying)"
        case .interrupted(let version, let underlying):
            return "migration \(version) was interrupted (\(underlying)); it is recorded as dirty and the next apply resumes it"
        case .unknownVersion(let version, let known):
            return "there is no migration \(version) (known: \(known.map(String.init).joined(separator: ", ")))"
        case .nothingToResolve(let version, .noRecord): return "migration \(version) has no record; nothing to resolve"
        case .nothingToResolve(let version, .fileMissing): return "the file of migration \(version) is gone; nothing to accept"
        case .commitQuorumNeedsReplicaSet: return "a commit quorum needs a replica set; this server is a standalone"
        }
    }
}

extension MigrationError.Blocker: CustomStringConvertible {
    public var description: String {
        switch self {
        case .failed(let version, let title, let error):
            return "migration \(version) (\(title)) failed: \(error ?? "unknown error"); apply stops there until it is resolved or reversed"
        case .halfReverted(let version, let title):
            return "migration \(version) (\(title)) was being reverted when it stopped; apply stops there until the reverse is finished or it is resolved"
        case .fileChanged(let version, let file, let recorded, let current, let wasApplied):
            return "\(file) changed since migration \(version) was \(wasApplied ? "applied" : "started") "
                + "(checksum \(recorded.prefix(12)) -> \(current.prefix(12))); its recorded reverse may not match the file"
        case .fileMissing(let version, let file):
            return "the file of migration \(version) (\(file)) is gone, so the migration cannot be reversed"
        }
    }
}
