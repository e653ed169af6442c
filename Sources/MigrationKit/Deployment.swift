import Foundation
import MongoKit

/// What the runner needs to know about the deployment: whether it is a replica set (majority writes,
/// commit quorum) and who is running.
public struct Deployment: Sendable {
    public let isReplicaSet: Bool
    /// The host and process of this runner, for the changelog and the lock.
    public let host: String
    public let pid: Int32

    public init(client: MongoClient) throws {
        isReplicaSet = try client.hello()["setName"] != nil
        host = ProcessInfo.processInfo.hostName
        pid = ProcessInfo.processInfo.processIdentifier
    }

    /// Changelog and lock writes must survive a crash (journaled: the default w:1 may lose the last
    /// ~100 ms of writes on SIGKILL) and a failover (majority on a replica set).
    func withWriteConcern(_ command: Document) -> Document {
        var command = command
        command.append("writeConcern", isReplicaSet ? ["w": "majority", "j": true, "wtimeout": 30_000] : ["w": 1, "j": true])
        return command
    }
}

/// Errors of the server that go away by themselves: a failover, a restart, a dropped connection.
/// The runner retries those (its operations are idempotent) instead of recording a failure.
func isTransient(_ error: Error) -> Bool {
    guard let error = error as? MongoError else { return false }
    switch error {
    // A timeout here is the socket's (the runner sets no maxTimeMS): the build may go on on the server.
    case .network, .serverSelection, .timeout: return true
    case .command(let code, _, _):
        // HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress, PrimarySteppedDown,
        // InterruptedAtShutdown, InterruptedDueToReplStateChange, NotWritablePrimary, NotPrimaryNoSecondaryOk,
        // NotPrimaryOrSecondary, SocketException.
        return [6, 7, 89, 91, 189, 11600, 11602, 10107, 13435, 13436, 9001].contains(code)
    default: return false
    }
}
