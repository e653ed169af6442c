import Foundation
import XCTest

@testable import AuditKit

/// The order of an audit's shared passes and the threads that run them: any dependencies, a cycle
/// included, give an order that ends and a schedule that never waits on itself; `--parallel N` runs N
/// passes at once whatever the number of cores.
final class PassOrderTests: XCTestCase {
    func testDependenciesComeFirstAndTiesGoByName() {
        let order = Auditor.ordered([
            PassGroup(collection: "c"), PassGroup(collection: "a", after: ["d"]), PassGroup(collection: "d"), PassGroup(collection: "b", after: ["a"]),
        ])
        XCTAssertEqual(order.map(\.collection), ["c", "d", "a", "b"])
        XCTAssertEqual(order.map(\.after), [[], [], ["d"], ["a"]], "dependencies that hold are kept")
    }

    /// a ⇄ b (and c after a, d after a missing pass): broken at the first by name, deterministically; every
    /// pass then depends only on passes placed before it, so the scheduler runs them all.
    func testACycleIsBrokenDeterministicallyAndTheScheduleEnds() {
        let groups = [
            PassGroup(collection: "b", after: ["a"]), PassGroup(collection: "a", after: ["b"]), PassGroup(collection: "c", after: ["a"]),
            PassGroup(collection: "d", after: ["nowhere"]),
        ]
        let order = Auditor.ordered(groups)
        XCTAssertEqual(order.map(\.collection), ["a", "b", "c", "d"])
        XCTAssertEqual(Auditor.ordered(groups.reversed()).map(\.collection), ["a", "b", "c", "d"], "the same whatever the input order")
        for (position, group) in order.enumerated() {
            XCTAssertTrue(group.after.isSubset(of: Set(order[..<position].map(\.collection))), "\(group.collection) waits for \(group.after)")
        }
        for threads in [1, 3] {
            let scheduler = PassScheduler(order)
            let ran = Ran()
            runOnThreads(threads) { _ in
                while let index = scheduler.next() {
                    ran.add(order[index].collection)
                    scheduler.finish(index)
                }
            }
            XCTAssertEqual(ran.names.sorted(), ["a", "b", "c", "d"])
        }
    }

    /// More threads than cores all run at once: each waits inside until every one has arrived, which could
    /// never happen if they were capped at the core count. (The generous wait only stops a broken build
    /// from hanging the suite; nothing is timed.)
    func testAllThreadsRunAtOnceBeyondTheCoreCount() {
        let count = ProcessInfo.processInfo.activeProcessorCount * 2 + 3
        let barrier = Barrier(count)
        let met = Ran()
        runOnThreads(count) { index in
            if barrier.arriveAndWait(giveUpAfter: 120) { met.add("\(index)") }
        }
        XCTAssertEqual(met.names.count, count, "\(met.names.count) of \(count) threads were inside at once")
        XCTAssertEqual(Set(met.names).count, count, "each index once")
    }
}

private final class Ran: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ name: String) { lock.withLock { list.append(name) } }
    var names: [String] { lock.withLock { list } }
}

/// Lets threads through once `count` of them are waiting.
private final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private var arrived = 0

    init(_ count: Int) { self.count = count }

    func arriveAndWait(giveUpAfter seconds: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(seconds)
        while arrived < count {
            if !condition.wait(until: deadline) { return arrived >= count }
        }
        return true
    }
}
