import ArgumentParser
import MongoKit

/// What `migrate plan` and `migrate apply` share: how far to go and the commit quorum of index builds.
struct PlanOptions: ParsableArguments {
    @Option(name: .long, help: "Go up to and including this version.")
    var to: Int?

    @Option(name: .long, help: "commitQuorum of each createIndexes on a replica set: majority, votingMembers or a number of members.")
    var commitQuorum: String?

    /// `--commit-quorum majority|votingMembers|N`
    var commitQuorumValue: BSONValue? {
        guard let commitQuorum else { return nil }
        return Int32(commitQuorum).map(BSONValue.int32) ?? .string(commitQuorum)
    }
}
