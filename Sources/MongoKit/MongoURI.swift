import CMongoc
import Foundation

/// A MongoDB connection string, parsed once by libmongoc (`mongoc_uri_t`): its parts, and a redacted form
/// for messages. The only URI parser of the tool; everything that reads a connection string asks this type.
package struct MongoURI: Sendable, CustomStringConvertible {
    /// The connection string as given (secrets included): only for handing to libmongoc again.
    package let text: String
    /// `mongodb+srv`: the hosts are looked up in DNS when a client connects.
    package let isSRV: Bool
    /// `host:port` of each seed as libmongoc read it; for `mongodb+srv` the one service host name.
    package let hosts: [String]
    /// The database of the path, if any (the authentication database unless `authSource` says otherwise).
    package let database: String?
    package let username: String?
    /// Where the credentials are checked (libmongoc's default when not given: the path's database, else admin).
    package let authSource: String?
    /// The options and credential options libmongoc knows (names lowercased), without any that holds a secret.
    package let options: Document
    /// Hides this connection string's secrets in any text.
    package let redactor: Redactor

    /// Parses `text`; throws `MongoError.invalidURI` (with a message that holds no secret) when libmongoc
    /// refuses it, or when its host list holds an `@` (an unescaped `@` in the password, which libmongoc
    /// would otherwise take as part of a host name and then quote in its errors).
    package init(_ text: String) throws {
        _ = libmongocInitialized
        let textual = Redactor(text: text, parsed: nil)
        // libmongoc may log parts of the string while parsing it (unknown options, bad values).
        LibmongocLog.hideSecrets(of: textual)
        let error = ma_error_new()!
        defer { ma_error_free(error) }
        guard let uri = mongoc_uri_new_with_error(text, error) else {
            throw MongoError.invalidURI(textual.redact(String(cString: ma_error_message(error))))
        }
        defer { mongoc_uri_destroy(uri) }
        let parsed = ParsedParts(uri)
        guard !parsed.hosts.contains(where: { $0.contains("@") }) else {
            throw MongoError.invalidURI(
                "the connection string \(textual.redactedURI) has an \"@\" after its user info: percent-encode an \"@\" in a user name or password as %40")
        }
        self.text = text
        isSRV = parsed.srvHost != nil
        hosts = parsed.srvHost.map { [$0] } ?? parsed.hosts
        database = parsed.database
        username = parsed.username
        authSource = parsed.authSource
        options = parsed.publicOptions
        redactor = Redactor(text: text, parsed: parsed)
        LibmongocLog.hideSecrets(of: redactor)
    }

    /// The connection string with every secret replaced by `*****`, safe to print.
    package var redacted: String { redactor.redactedURI }
    package var description: String { redacted }

    /// A history or other target written `mongodb://host/database.collection?options`: the connection string
    /// with only the database in its path (libmongoc refuses a dot there), and the collection, if named.
    package static func namespace(_ text: String) throws -> (uri: MongoURI, collection: String?) {
        let textual = URIText(text, splitAsLibmongoc: true)
        guard let path = textual.path, let dot = text[path].firstIndex(of: ".") else { return (try MongoURI(text), nil) }
        let collection = String(text[text.index(after: dot)..<path.upperBound])
        let uri = try MongoURI(String(text[..<dot]) + String(text[path.upperBound...]))
        return (uri, collection.isEmpty ? nil : collection)
    }

    /// What libmongoc read, copied out of the `mongoc_uri_t` before it is destroyed.
    struct ParsedParts {
        var hosts: [String] = []
        var srvHost: String?
        var database: String?
        var username: String?
        var password: String?
        var authSource: String?
        var publicOptions = Document()
        /// Values of options that hold secrets, as libmongoc decoded them (each authMechanismProperties value too).
        var secretValues: [String] = []

        init(_ uri: OpaquePointer) {
            var host = mongoc_uri_get_hosts(uri)
            while let current = host {
                hosts.append(withUnsafeBytes(of: current.pointee.host_and_port) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
                host = UnsafePointer(current.pointee.next)
            }
            srvHost = mongoc_uri_get_srv_hostname(uri).map { String(cString: $0) }
            database = mongoc_uri_get_database(uri).map { String(cString: $0) }
            username = mongoc_uri_get_username(uri).map { String(cString: $0) }
            password = mongoc_uri_get_password(uri).map { String(cString: $0) }
            authSource = mongoc_uri_get_auth_source(uri).map { String(cString: $0) }
            for source in [mongoc_uri_get_credentials(uri), mongoc_uri_get_options(uri)] {
                guard let source else { continue }
                for (name, value) in Document(copying: source).elements {
                    if Redactor.isSecret(option: name) {
                        secretValues += Self.strings(in: value)
                    } else {
                        publicOptions.append(name, value)
                    }
                }
            }
        }

        /// The text of a value and, for a document (authMechanismProperties), of each of its values.
        static func strings(in value: BSONValue) -> [String] {
            if let document = value.documentValue { return document.elements.flatMap { strings(in: $0.1) } }
            return [value.stringValue ?? value.relaxedJSON]
        }
    }
}

/// Where the parts of a connection string lie in its text, found without libmongoc so that a string
/// libmongoc refuses can still be redacted. For a string libmongoc parsed, its own split: the user info ends
/// at the last `@` before the first `/`. For any other, the user info ends at the last `@` followed by
/// something host-like, since a password may hold `@`, `/` or `?` unescaped and a host list none of them.
struct URIText {
    let text: String
    /// `user:password@` (with its `@`), when there is one.
    let userInfo: Range<String.Index>?
    /// The path after the host list's `/`, up to the query (empty ranges included).
    let path: Range<String.Index>?
    /// Each `name=value` (or bare `name`) of the query.
    let query: [Range<String.Index>]

    init(_ text: String, splitAsLibmongoc: Bool) {
        self.text = text
        // After `scheme://`; a mistyped `scheme:/` or `scheme:` is read the same, since it may hold a password too.
        let restStart =
            text.range(of: "://")?.upperBound
            ?? text.firstIndex(of: ":").map { colon in text[text.index(after: colon)...].firstIndex { $0 != "/" } ?? text.endIndex }
        guard let restStart else {
            userInfo = nil
            path = nil
            query = Self.pairs(in: text, after: text.firstIndex(of: "?"))
            return
        }
        let rest = text[restStart...]
        let firstSlash = rest.firstIndex(of: "/") ?? rest.endIndex
        let at = splitAsLibmongoc ? rest[..<firstSlash].lastIndex(of: "@") : Self.lastAtBeforeHost(in: rest)
        userInfo = at.map { rest.startIndex..<rest.index(after: $0) }
        let hostsStart = userInfo?.upperBound ?? rest.startIndex
        let afterHosts = rest[hostsStart...].firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let queryMark: String.Index?
        if afterHosts < rest.endIndex, rest[afterHosts] == "/" {
            let pathStart = rest.index(after: afterHosts)
            queryMark = rest[pathStart...].firstIndex(of: "?")
            path = pathStart..<(queryMark ?? rest.endIndex)
        } else {
            queryMark = afterHosts < rest.endIndex ? afterHosts : nil
            path = nil
        }
        query = Self.pairs(in: text, after: queryMark)
    }

    private static func pairs(in text: String, after mark: String.Index?) -> [Range<String.Index>] {
        guard let mark else { return [] }
        var ranges: [Range<String.Index>] = []
        var start = text.index(after: mark)
        for index in text[start...].indices where text[index] == "&" || text[index] == ";" {
            if start < index { ranges.append(start..<index) }
            start = text.index(after: index)
        }
        if start < text.endIndex { ranges.append(start..<text.endIndex) }
        return ranges
    }

    /// A host list: names, IPv4 and IPv6 literals, ports, commas, and percent-encoded socket paths.
    private static func isHostList(_ text: Substring) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:,[]%".unicodeScalars.contains($0) }
    }

    /// The last `@` whose following text, up to a `/`, `?` or the end, is a host list; else the last `@`.
    private static func lastAtBeforeHost(in rest: Substring) -> String.Index? {
        let hostLike = rest.indices.reversed().first { index in
            guard rest[index] == "@" else { return false }
            let after = rest[rest.index(after: index)...]
            return isHostList(after[..<(after.firstIndex { $0 == "/" || $0 == "?" } ?? after.endIndex)])
        }
        return hostLike ?? rest.lastIndex(of: "@")
    }
}
