import Foundation
import MongoKit
import XCTest

/// The repository root, found from this file's place in it.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs a program and returns its exit status, stdout and stderr. Uses posix_spawn and waitpid directly:
/// Foundation's Process did not notice its child's exit here once libmongoc's threads were running.
@discardableResult
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil
) throws -> (status: Int32, stdout: String, stderr: String) {
    try RunningProcess(executable, arguments, environment: environment).wait()
}

/// A program started in the background, to signal and wait for.
public final class RunningProcess {
    public let pid: pid_t
    private let scratch: URL

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, scratch.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw TestServerError(description: "cannot run \(executable): errno \(spawned)") }
        self.pid = pid
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the exit; the status is the exit code, or 128 + the signal that killed it.
    public func wait() throws -> (status: Int32, stdout: String, stderr: String) {
        defer { try? FileManager.default.removeItem(at: scratch) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let read = { (name: String) in (try? String(contentsOfFile: self.scratch.appendingPathComponent(name).path, encoding: .utf8)) ?? "" }
        return (exitStatus, read("stdout"), read("stderr"))
    }
}

/// The shared server of a test run: `MONGODB_URI` (the user's own MongoDB 4.4+, or the standalone that
/// `scripts/test` started). A missing server fails the test; it never skips it.
public enum TestServer {
    public static func uri() throws -> String {
        guard let uri = ProcessInfo.processInfo.environment["MONGODB_URI"], !uri.isEmpty else {
            throw TestServerError(
                description: "MONGODB_URI is not set: run the tests with scripts/test, which starts a local mongod")
        }
        return uri
    }

    public static func client() throws -> MongoClient {
        try MongoClient(uri: uri(), options: ClientOptions(serverSelectionTimeoutMS: 5_000))
    }

    /// A database name no other test uses.
    public static func uniqueDatabaseName(_ prefix: String = "test") -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A mongod this test started from the project's own script, for what the shared server cannot give:
/// `--auth`, failpoints, replica sets, crashes. Stopped and its data removed by `stop()`.
/// Its state changes only in `start`, before any other thread sees it; tests hand it to failure injectors.
public final class LaunchedMongod: @unchecked Sendable {
    public let dataDirectory: URL
    public private(set) var port: Int
    public let arguments: [String]

    static var script: String { repositoryRoot.appendingPathComponent("scripts/mongod").path }

    public init(arguments: [String] = [], port: Int = 0) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("mongo-audit-\(UUID().uuidString)")
        self.arguments = arguments
        self.port = port
        try start()
    }

    public var uri: String { "mongodb://127.0.0.1:\(port)/?directConnection=true" }

    /// Starts (or restarts, on the same data and port) the server.
    public func start() throws {
        var args = ["start", dataDirectory.path, String(port)]
        if !arguments.isEmpty { args += ["--"] + arguments }
        let result = try runProcess(Self.script, args)
        guard result.status == 0, let started = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestServerError(description: "scripts/mongod start failed (\(result.status)): \(result.stderr)")
        }
        port = started
    }

    /// SIGKILL, as a crash would.
    public func kill() throws { try runProcess(Self.script, ["kill", dataDirectory.path]) }

    public func stop() {
        _ = try? runProcess(Self.script, ["stop", dataDirectory.path])
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    public func client(user: String? = nil, password: String? = nil, authSource: String = "admin") throws -> MongoClient {
        try MongoClient(uri: uri(user: user, password: password, authSource: authSource), options: ClientOptions(serverSelectionTimeoutMS: 5_000))
    }

    public func uri(user: String?, password: String?, authSource: String = "admin") -> String {
        guard let user, let password else { return uri }
        return "mongodb://\(user):\(password)@127.0.0.1:\(port)/?directConnection=true&authSource=\(authSource)"
    }
}

/// A three-member replica set on loopback, for failover and commit-quorum tests.
public final class LaunchedReplicaSet {
    public let name: String
    public let members: [LaunchedMongod]

    public init(memberCount: Int = 3) throws {
        name = "rs_\(UUID().uuidString.prefix(6).lowercased())"
        var started: [LaunchedMongod] = []
        do {
            // A signalled member otherwise waits 15 s in quiesce mode for clients to move away; these sets are
            // thrown away, so 1 s is enough (it took the suite 45 s per set).
            let arguments = ["--replSet", name, "--setParameter", "shutdownTimeoutMillisForSignaledShutdown=1000"]
            for _ in 0..<memberCount { started.append(try LaunchedMongod(arguments: arguments)) }
        } catch {
            started.forEach { $0.stop() }
            throw error
        }
        members = started
        let config: Document = [
            "_id": .string(name),
            "members": .array(
                started.enumerated().map { index, member in
                    ["_id": .int32(Int32(index)), "host": .string("127.0.0.1:\(member.port)")]
                }),
        ]
        let first = try started[0].client()
        try first.database("admin").runCommand(["replSetInitiate": .document(config)])
        try waitForPrimary()
    }

    public var uri: String {
        "mongodb://" + members.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/?replicaSet=\(name)"
    }

    public func client() throws -> MongoClient {
        try MongoClient(uri: uri, options: ClientOptions(serverSelectionTimeoutMS: 20_000))
    }

    /// Waits until a primary accepts writes (elections take some seconds on loopback).
    public func waitForPrimary(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        let client = try self.client()
        while Date() < deadline {
            if let hello = try? client.database("admin").runCommand(["hello": 1]), hello["isWritablePrimary"]?.boolValue == true {
                return
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        throw TestServerError(description: "replica set \(name) elected no primary within \(Int(timeout)) s")
    }

    public func stop() { members.forEach { $0.stop() } }
}

/// The path of the built `mongo-audit` executable (built by `swift build`, which scripts/test runs first).
public func mongoAuditBinary() throws -> String {
    let candidates = [
        Bundle.main.bundleURL.appendingPathComponent("mongo-audit"),
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("mongo-audit"),
        repositoryRoot.appendingPathComponent(".build/debug/mongo-audit"),
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw TestServerError(description: "mongo-audit is not built; run `swift build` first")
    }
    return found.path
}

extension XCTestCase {
    /// A file in the temporary directory holding `text`, removed when the test ends.
    public func temporaryFile(_ text: String, name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A server of the test's own (for failpoints and kills), stopped when the test ends.
    public func launchedServer(arguments: [String] = []) throws -> (server: LaunchedMongod, client: MongoClient) {
        let server = try LaunchedMongod(arguments: arguments)
        addTeardownBlock { server.stop() }
        return (server, try server.client())
    }
}

extension MongoClient {
    /// Makes the server hold every `find` for `milliseconds` before answering, as a frozen or overloaded
    /// server would (test commands are enabled on the servers the tests start).
    public func blockFinds(for milliseconds: Int, times: Int? = nil) throws {
        try database("admin").runCommand([
            "configureFailPoint": "failCommand", "mode": times.map { ["times": .int32(Int32($0))] } ?? "alwaysOn",
            "data": ["failCommands": ["find"], "blockConnection": true, "blockTimeMS": .int32(Int32(milliseconds))],
        ])
    }
}
