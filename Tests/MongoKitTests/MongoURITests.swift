import Foundation
import TestSupport
import XCTest

@testable import MongoKit

/// The one URI parser (libmongoc's) and the redactor standing on it: the parts of a connection string,
/// and no secret of a hostile one in any form a message could carry.
final class MongoURITests: XCTestCase {
    func testPartsComeFromLibmongoc() throws {
        let uri = try MongoURI("mongodb://auditor:p%40ss@db1:27017,[::1]:27018/sales?replicaSet=rs0&authSource=admin&appName=nightly")
        XCTAssertFalse(uri.isSRV)
        XCTAssertEqual(uri.hosts, ["db1:27017", "[::1]:27018"])
        XCTAssertEqual(uri.database, "sales")
        XCTAssertEqual(uri.username, "auditor")
        XCTAssertEqual(uri.authSource, "admin")
        XCTAssertEqual(uri.options["replicaset"]?.stringValue, "rs0")
        XCTAssertEqual(uri.options["appname"]?.stringValue, "nightly")
        XCTAssertEqual(uri.redacted, "mongodb://auditor:*****@db1:27017,[::1]:27018/sales?replicaSet=rs0&authSource=admin&appName=nightly")

        let srv = try MongoURI("mongodb+srv://reader:Srv5ecret@cluster0.example.net/app?retryWrites=true")
        XCTAssertTrue(srv.isSRV)
        XCTAssertEqual(srv.hosts, ["cluster0.example.net"])
        XCTAssertEqual(srv.database, "app")
        XCTAssertEqual(srv.redacted, "mongodb+srv://reader:*****@cluster0.example.net/app?retryWrites=true")

        let bare = try MongoURI("mongodb://127.0.0.1:27017")
        XCTAssertNil(bare.database)
        XCTAssertNil(bare.username)
        XCTAssertEqual(bare.redacted, "mongodb://127.0.0.1:27017")
    }

    /// Options that hold a secret are neither in `options` nor in the redacted form.
    func testSecretOptionsAreLeftOutOfTheParts() throws {
        let uri = try MongoURI(
            "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:T0kXyz&tls=true&tlsCertificateKeyFilePassword=Pw0rdXyz")
        XCTAssertEqual(uri.options["authmechanism"]?.stringValue, "MONGODB-AWS")
        XCTAssertNil(uri.options["authmechanismproperties"])
        XCTAssertNil(uri.options["tlscertificatekeyfilepassword"])
        for secret in ["T0kXyz", "Pw0rdXyz"] {
            XCTAssertFalse(uri.options.relaxedJSON.contains(secret))
            XCTAssertFalse(uri.redacted.contains(secret), uri.redacted)
            XCTAssertTrue(uri.redactor.secrets.contains(secret), "\(secret) hidden in libmongoc's log too")
        }
    }

    /// A namespace path (`database.collection`, which libmongoc refuses as a database) splits before parsing.
    func testNamespacePathSplitsIntoDatabaseAndCollection() throws {
        let (uri, collection) = try MongoURI.namespace("mongodb://u:p@h1,h2/hist.runs.daily?replicaSet=rs")
        XCTAssertEqual(uri.text, "mongodb://u:p@h1,h2/hist?replicaSet=rs")
        XCTAssertEqual(uri.database, "hist")
        XCTAssertEqual(collection, "runs.daily")
        XCTAssertNil(try MongoURI.namespace("mongodb://h/hist").collection)
        XCTAssertNil(try MongoURI.namespace("mongodb://h/hist.").collection)
        XCTAssertNil(try MongoURI.namespace("mongodb://h/?w=1").uri.database)
    }

    /// Connection strings a user may paste, one secret (or more) each: the redacted form, a message quoting
    /// the string as written or decoded, and the error of a string libmongoc refuses hold none of them.
    func testNoSecretOfAHostileURIReachesAnyForm() throws {
        let cases: [(uri: String, secrets: [String])] = [
            ("mongodb://user:Zq9p%40ss%3Aw0rd@h/db", ["Zq9p%40ss%3Aw0rd", "Zq9p@ss:w0rd"]),
            ("mongodb://user:Zq9raw@pass@h/db", ["Zq9raw@pass", "Zq9raw"]),
            ("mongodb://user:Zq9raw@pass@h/db?appName=me@work", ["Zq9raw@pass", "Zq9raw"]),
            ("mongodb://user:Zq9a/b@h/db", ["Zq9a/b", "Zq9a"]),
            ("mongodb://user:Zq9a?b@h/db", ["Zq9a?b", "Zq9a"]),
            ("mongodb://user:Zq9a?b=c@h/db?appName=x", ["Zq9a?b=c", "Zq9a"]),
            ("mongodb://user:Zq9p;w@h/db", ["Zq9p;w", "Zq9p"]),
            ("mongodb://user:Zq9p#w@h/db", ["Zq9p#w", "Zq9p"]),
            ("mongodb://us%3Aer:Zq9pw@h/db", ["Zq9pw"]),
            ("mongodb://user:Zq9pw@", ["Zq9pw"]),
            ("mongodb://user:Zq9pw@h:99999/db", ["Zq9pw"]),
            ("mongodb://user:Zq9pw@[::1]:27017,h2:27018/db?replicaSet=rs", ["Zq9pw"]),
            ("mongodb://user:Zq9pw@%2Ftmp%2Fmongodb-27017.sock/db", ["Zq9pw"]),
            ("mongodb+srv://user:Srv5ecret@cluster0.example.net/db?retryWrites=true", ["Srv5ecret"]),
            ("postgres://user:Zq9pw@h/db", ["Zq9pw"]),
            ("mongodb:/user:Zq9pw@h/db", ["Zq9pw"]),
            ("mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:T0kXyz", ["T0kXyz"]),
            ("mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:T0k%58yz&w=bogus", ["T0k%58yz", "T0kXyz"]),
            ("mongodb://h/db?tls=true&tlsCertificateKeyFilePassword=Pw0rdXyz", ["Pw0rdXyz"]),
            ("mongodb://h/db?TLSCERTIFICATEKEYFILEPASSWORD=Pw0rdXyz", ["Pw0rdXyz"]),
            ("mongodb://h/db?tlsCertificateKey%46ilePassword=Pw%30rdXyz", ["Pw%30rdXyz", "Pw0rdXyz"]),
            ("mongodb://h/db?sslClientCertificateKeyPassword=Pw0rdXyz;appName=a", ["Pw0rdXyz"]),
            ("mongodb://h/db?myApiKey=K3yXyz", ["K3yXyz"]),
            ("mongodb://user:Zq9pw@h/db?authMechanismProperties=AWS_SESSION_TOKEN:T0kXyz", ["Zq9pw", "T0kXyz"]),
            ("mongodb://user:Zq9pw@h/db?Zq9pw=1", ["Zq9pw"]),
        ]
        for (uri, secrets) in cases {
            let redactor = Redactor(uri: uri)
            var forms = [redactor.redactedURI, Redactor.redactedURI(uri), redactor.redact("cannot connect to \(uri): refused")]
            if let decoded = uri.removingPercentEncoding { forms.append(redactor.redact("cannot connect to \(decoded)")) }
            do {
                let parsed = try MongoURI(uri)
                forms += [parsed.redacted, "\(parsed)", parsed.options.relaxedJSON]
            } catch {
                guard case MongoError.invalidURI = error else { return XCTFail("\(uri): \(error)") }
                forms.append("\(error)")
            }
            for form in forms {
                for secret in secrets { XCTAssertFalse(form.contains(secret), "\(secret) of \(uri) in: \(form)") }
            }
            XCTAssertTrue(redactor.redactedURI.contains("*****"), "\(uri) -> \(redactor.redactedURI)")
        }
    }

    /// An unescaped `@` in a password: libmongoc would take what follows it as part of the host name and
    /// quote it in its errors; the string is refused instead, without the password.
    func testAnUnescapedAtInThePasswordIsRefused() {
        XCTAssertThrowsError(try MongoURI("mongodb://ops:Hx7@secret@127.0.0.1:9/db")) { error in
            guard case MongoError.invalidURI(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("percent-encode"), message)
            XCTAssertTrue(message.contains("mongodb://ops:*****@127.0.0.1:9/db"), message)
            XCTAssertFalse(message.contains("Hx7") || message.contains("secret"), message)
        }
        XCTAssertThrowsError(try MongoClient(uri: "mongodb://ops:Hx7@secret@127.0.0.1:9/db"))
    }

    /// A user name alone is no secret and stays readable; so do words of a message that a short password
    /// happens to spell.
    func testWhatIsNoSecretStaysReadable() {
        XCTAssertEqual(Redactor.redactedURI("mongodb://CN=auditor@h/?authMechanism=MONGODB-X509"), "mongodb://CN=auditor@h/?authMechanism=MONGODB-X509")
        XCTAssertEqual(Redactor.redactedURI("mongodb://h/db?tlsCertificateKeyFile=/etc/key.pem"), "mongodb://h/db?tlsCertificateKeyFile=/etc/key.pem")
        XCTAssertEqual(Redactor(uri: "mongodb://u:e@h/db").redact("the password expired"), "the password expired")
    }

    /// Every read that names no time limit carries the client's (`defaultMaxTimeMS`), as the server's
    /// profiler sees the commands; a client without a default sends none. (The profiler does not record
    /// listCollections, which builds its options with the same function as listIndexes.)
    func testReadsWithoutATimeLimitGetTheClientsDefault() throws {
        let uri = try TestServer.uri()
        let bounded = try MongoClient(uri: uri, options: ClientOptions(defaultMaxTimeMS: 43_210))
        let unbounded = try MongoClient(uri: uri, options: ClientOptions(defaultMaxTimeMS: nil))
        let name = TestServer.uniqueDatabaseName("timelimits")
        let database = bounded.database(name)
        defer { try? database.drop() }
        try database.collection("c").insertMany([["a": 1], ["a": 2]])
        try database.runCommand(["profile": 2])
        for (client, comment) in [(bounded, "bounded"), (unbounded, "unbounded")] {
            let collection = client.database(name).collection("c")
            _ = try collection.estimatedDocumentCount()
            _ = try collection.countDocuments()
            _ = try collection.listIndexes()
            _ = try client.database(name).listCollections()
            try collection.find(["note": .string(comment)]) { _ = try $0.all() }
            try collection.aggregate([["$match": ["note": .string(comment)]]]) { _ = try $0.all() }
        }
        try database.runCommand(["profile": 0])
        let entries = try database.collection("system.profile").find(options: FindOptions(maxTimeMS: 10_000)) { try $0.all() }
        func limits(of command: String) -> [Int?] {
            entries.compactMap { $0["command"]?.documentValue }.filter { $0.keys.first == command }.map { $0["maxTimeMS"]?.intValue }
        }
        for command in ["count", "aggregate", "listIndexes", "find"] {
            let seen = limits(of: command)
            XCTAssertTrue(seen.contains(43_210), "\(command): \(seen)")
            XCTAssertTrue(seen.contains(nil), "\(command) without a default: \(seen)")
        }
    }
}
