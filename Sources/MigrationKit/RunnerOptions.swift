import Foundation
import MongoKit

/// Points in a run that tests (and only tests) hook into, e.g. to kill the server at an exact moment.
public enum RunnerEvent: Sendable {
    case lockAcquired
    /// The dirty record of the migration is written; no command of it has been sent yet.
    case started(version: Int)
    /// A migration command is about to be sent.
    case willSend(Document)
    /// The server answered a migration command.
    case sent(Document)
    case waitingForBuild(collection: String, indexes: [String])
    /// Every command of the migration is done; its record is not yet finished.
    case willRecord(version: Int)
    case recorded(version: Int)
}

public struct RunnerOptions {
    /// The tool and its version, e.g. "mongo-audit 0.1.0", written to the changelog and the lock.
    public var tool: String
    /// How long the lock lives without renewal; the holder renews it every third of that.
    public var lockTimeToLive: TimeInterval = 30
    /// How long to wait for a lock another runner holds (0: fail at once, naming the holder).
    public var lockWait: TimeInterval = 0
    /// `commitQuorum` of `createIndexes` (replica sets only): "majority", "votingMembers" or a member count.
    public var commitQuorum: BSONValue?
    /// How long to keep retrying through a failover or restart before stopping with a dirty record.
    public var retryFor: TimeInterval = 30
    /// The pause between two attempts while retrying.
    public var retryInterval: TimeInterval = 1
    /// What the runner does, line by line, for whoever shows it (the CLI prints them); the library prints nothing.
    public var log: (String) -> Void = { _ in }
    /// Build progress for a terminal; nil when nobody watches. An empty line clears it.
    public var progress: (@Sendable (String) -> Void)?
    public var events: (RunnerEvent) -> Void = { _ in }
    /// Where the runner keeps the lock it holds, so that another thread (a signal handler) can give it up.
    package var heldLock: HeldLock?

    public init(tool: String) { self.tool = tool }
}
