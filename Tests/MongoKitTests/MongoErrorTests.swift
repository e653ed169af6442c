import CMongoc
import Foundation
import TestSupport
import XCTest

@testable import MongoKit

/// libmongoc errors map on (domain, code), not on message text.
final class MongoErrorMappingTests: XCTestCase {
    func classify(_ domain: mongoc_error_domain_t, _ code: UInt32, _ message: String = "some text", reply: Document? = nil) -> MongoError {
        MongoError.classify(domain: UInt32(domain.rawValue), code: code, message: message, reply: reply)
    }

    func code(_ value: mongoc_error_code_t) -> UInt32 { UInt32(value.rawValue) }

    func testServerCodesForTimeAndAuthenticationAndTheRestAreCommandErrors() {
        XCTAssertEqual(classify(MONGOC_ERROR_SERVER, 50), .timeout("some text"))
        XCTAssertEqual(classify(MONGOC_ERROR_SERVER, 262), .timeout("some text"))
        XCTAssertEqual(classify(MONGOC_ERROR_SERVER, 18), .authentication("some text"))
        let reply: Document = ["ok": 0, "code": 10107, "codeName": "NotWritablePrimary", "errorLabels": ["RetryableWriteError"]]
        XCTAssertEqual(
            classify(MONGOC_ERROR_SERVER, 10107, "not primary", reply: reply),
            .command(ServerError(code: 10107, codeName: "NotWritablePrimary", message: "not primary", labels: ["RetryableWriteError"])))
    }

    func testMessagesThatOnceDecidedTheCaseNoLongerDo() {
        // A selection failure stays one, whatever the text holds; an authentication failure has its own code.
        XCTAssertEqual(
            classify(MONGOC_ERROR_SERVER_SELECTION, code(MONGOC_ERROR_SERVER_SELECTION_FAILURE), "Authentication failed"),
            .serverSelection("Authentication failed"))
        XCTAssertEqual(classify(MONGOC_ERROR_CLIENT, code(MONGOC_ERROR_CLIENT_AUTHENTICATE)), .authentication("some text"))
        XCTAssertEqual(
            classify(MONGOC_ERROR_COMMAND, code(MONGOC_ERROR_COMMAND_INVALID_ARG), "invalid uri option"),
            .other(domain: Int(MONGOC_ERROR_COMMAND.rawValue), code: Int(code(MONGOC_ERROR_COMMAND_INVALID_ARG)), message: "invalid uri option"))
    }

    func testStreamErrorsAreNetworkErrorsButTheSocketCodeSharedWithTimeouts() {
        XCTAssertEqual(classify(MONGOC_ERROR_STREAM, code(MONGOC_ERROR_STREAM_CONNECT), "timed out connecting"), .network("timed out connecting"))
        XCTAssertEqual(classify(MONGOC_ERROR_STREAM, code(MONGOC_ERROR_STREAM_NAME_RESOLUTION)), .network("some text"))
        XCTAssertEqual(classify(MONGOC_ERROR_STREAM, code(MONGOC_ERROR_STREAM_SOCKET), "connection closed"), .network("connection closed"))
        XCTAssertEqual(
            classify(MONGOC_ERROR_STREAM, code(MONGOC_ERROR_STREAM_SOCKET), "Failed to read 4 bytes: socket error or timeout"),
            .timeout("Failed to read 4 bytes: socket error or timeout"))
    }

    func testWriteConcernDomainAndBulkWriteErrorsSayWhichKind() {
        let concern: Document = ["ok": 1, "writeConcernErrors": [["code": 91, "codeName": "ShutdownInProgress", "errmsg": "x"]]]
        XCTAssertEqual(classify(MONGOC_ERROR_WRITE_CONCERN, 91, "x", reply: concern).serverError?.kind, .writeConcernError)
        XCTAssertEqual(classify(MONGOC_ERROR_WRITE_CONCERN, 91, "x", reply: concern).codeName, "ShutdownInProgress")
        let bulk: Document = ["nInserted": 0, "writeErrors": [["index": 0, "code": 11000, "codeName": "DuplicateKey", "errmsg": "dup"]]]
        XCTAssertEqual(classify(MONGOC_ERROR_SERVER, 11000, "dup", reply: bulk).serverError?.kind, .writeError)
        XCTAssertEqual(classify(MONGOC_ERROR_SERVER, 11000, "dup", reply: bulk).codeName, "DuplicateKey")
    }

    func testWriteFailuresOfAnAcknowledgedReply() {
        XCTAssertNil(ServerError.firstWriteFailure(in: ["ok": 1, "n": 1]))
        let both: Document = [
            "ok": 1, "writeErrors": [["index": 0, "code": 11000, "codeName": "DuplicateKey", "errmsg": "dup"]],
            "writeConcernError": ["code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting"],
        ]
        XCTAssertEqual(ServerError.firstWriteFailure(in: both), ServerError(kind: .writeError, code: 11000, codeName: "DuplicateKey", message: "dup"))
        let concern: Document = [
            "ok": 1, "writeConcernError": ["code": 91, "codeName": "ShutdownInProgress", "errmsg": "going", "errorLabels": ["RetryableWriteError"]],
        ]
        XCTAssertEqual(
            ServerError.firstWriteFailure(in: concern),
            ServerError(kind: .writeConcernError, code: 91, codeName: "ShutdownInProgress", message: "going", labels: ["RetryableWriteError"]))
    }
}

/// Codes, code names, kinds and labels as a real server sends them.
final class ServerErrorIntegrationTests: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("mongoerr"))
    }

    override func tearDownWithError() throws {
        _ = try? client?.database("admin").runCommand(["configureFailPoint": "failCommand", "mode": "off"])
        try database?.drop()
    }

    func failNext(_ command: String, _ data: Document) throws {
        var data = data
        data.append("failCommands", [.string(command)])
        try client.database("admin").runCommand(["configureFailPoint": "failCommand", "mode": ["times": 1], "data": .document(data)])
    }

    func testCommandErrorsKeepTheServersErrorLabels() throws {
        // Not a "not primary" code: libmongoc would mark the shared server unknown for the tests that follow.
        try failNext("find", ["errorCode": 112, "errorLabels": ["TransientTransactionError"]])
        XCTAssertThrowsError(try database.runCommand(["find": "things"])) { error in
            guard case MongoError.command(let server) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server.code, 112)
            XCTAssertEqual(server.codeName, "WriteConflict")
            XCTAssertEqual(server.labels, ["TransientTransactionError"])
            XCTAssertEqual(server.kind, .command)
        }
    }

    func testWriteErrorsAndWriteConcernErrorsAreOneTypedError() throws {
        try database.runWriteCommand(["insert": "things", "documents": [["_id": 1]]])
        XCTAssertThrowsError(try database.runWriteCommand(["insert": "things", "documents": [["_id": 1]]])) { error in
            guard case MongoError.command(let server) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server.kind, .writeError)
            XCTAssertEqual(server.code, 11000)
            XCTAssertTrue(server.message.contains("duplicate key"), server.message)  // write errors come without a code name
        }
        // Not a shutdown code: libmongoc would mark the shared server unknown for the tests that follow.
        try failNext(
            "insert",
            [
                "writeConcernError": ["code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting for replication timed out"],
                "errorLabels": ["RetryableWriteError"],
            ])
        XCTAssertThrowsError(try database.runWriteCommand(["insert": "things", "documents": [["_id": 2]]])) { error in
            guard case MongoError.command(let server) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server.kind, .writeConcernError)
            XCTAssertEqual(server.code, 64)
            XCTAssertEqual(server.codeName, "WriteConcernFailed")
            XCTAssertEqual(server.labels, ["RetryableWriteError"])
            XCTAssertTrue("\(error)".contains("write concern error: waiting for replication timed out"), "\(error)")
        }
    }
}
