import Foundation
import MongoKit

/// What the runner needs to know about the deployment: whether it is a replica set (majority writes,
/// commit quorum) and who is running.
package struct Deployment: Sendable {
    package let isReplicaSet: Bool
    /// The host and process of this runner, for the changelog and the lock.
    package let host: String
    package let pid: Int32

    package init(client: MongoClient) throws {
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
