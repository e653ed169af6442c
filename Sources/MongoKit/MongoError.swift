import CMongoc
import Foundation

/// What the server answered when it refused an operation: a command error (`ok: 0`), or the first write
/// error or write-concern error of a write the server acknowledged with `ok: 1`.
public struct ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The command failed as a whole (`ok: 0`).
        case command
        /// One of the writes failed (`writeErrors`), e.g. a duplicate key.
        case writeError = "write error"
        /// The writes were done but not acknowledged as the write concern asked (`writeConcernError`).
        case writeConcernError = "write concern error"
    }

    public var kind: Kind
    /// The server's error code, e.g. 11000 (DuplicateKey).
    public var code: Int
    /// The server's name of the code, e.g. "NamespaceNotFound"; empty when the server gave none (write errors have none).
    public var codeName: String
    public var message: String
    /// The reply's `errorLabels`, e.g. "RetryableWriteError", "TransientTransactionError".
    public var labels: Set<String>

    public init(kind: Kind = .command, code: Int, codeName: String = "", message: String, labels: Set<String> = []) {
        self.kind = kind
        self.code = code
        self.codeName = codeName
        self.message = message
        self.labels = labels
    }

    public func hasLabel(_ label: String) -> Bool { labels.contains(label) }

    public var description: String {
        let prefix = kind == .command ? "" : "\(kind.rawValue): "
        let labelText = labels.isEmpty ? "" : ", labels \(labels.sorted().joined(separator: ", "))"
        return "\(prefix)\(message) (code \(code)\(codeName.isEmpty ? "" : " \(codeName)")\(labelText))"
    }

    /// The labels of a reply (`errorLabels`, an array of strings).
    static func labels(in reply: Document?) -> Set<String> {
        Set(reply?["errorLabels"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The first write error, else the write-concern error, of a reply with `ok: 1`; nil when it has neither.
    /// A bulk reply from libmongoc names the latter `writeConcernErrors` (an array).
    static func firstWriteFailure(in reply: Document) -> ServerError? {
        let labels = labels(in: reply)
        func make(_ kind: Kind, _ entry: Document) -> ServerError {
            ServerError(
                kind: kind, code: entry["code"]?.intValue ?? 0, codeName: entry["codeName"]?.stringValue ?? "",
                message: entry["errmsg"]?.stringValue ?? kind.rawValue,
                labels: labels.union(Self.labels(in: entry)))
        }
        if let first = reply["writeErrors"]?.arrayValue?.first?.documentValue { return make(.writeError, first) }
        if let concern = reply["writeConcernError"]?.documentValue ?? reply["writeConcernErrors"]?.arrayValue?.first?.documentValue {
            return make(.writeConcernError, concern)
        }
        return nil
    }
}

/// Everything that can go wrong talking to MongoDB, in cases a user can act on. Messages never hold the
/// password of the connection string: they are redacted where the error is made.
public enum MongoError: Error, Equatable, CustomStringConvertible {
    /// The connection string could not be parsed.
    case invalidURI(String)
    /// No server could be selected in time: nothing listens, a wrong host, or no suitable replica set member.
    case serverSelection(String)
    /// The server rejected the credentials.
    case authentication(String)
    /// The operation ran out of time: `maxTimeMS` expired on the server, or a socket timed out.
    case timeout(String)
    /// The server ran the command and answered with an error (or a write error, or a write-concern error).
    case command(ServerError)
    /// The connection broke while talking to the server.
    case network(String)
    /// A document could not be built or parsed.
    case invalidDocument(String)
    /// Anything libmongoc reports that fits none of the cases above.
    case other(domain: Int, code: Int, message: String)

    public var description: String {
        switch self {
        case .invalidURI(let m): return "invalid connection string: \(m)"
        case .serverSelection(let m): return "server unreachable: \(m)"
        case .authentication(let m): return "authentication failed: \(m)"
        case .timeout(let m): return "timed out: \(m)"
        case .command(let error): return "command failed: \(error)"
        case .network(let m): return "network error: \(m)"
        case .invalidDocument(let m): return "invalid document: \(m)"
        case .other(let domain, let code, let m): return "\(m) (libmongoc domain \(domain), code \(code))"
        }
    }

    /// The server's answer, for command, write and write-concern errors.
    public var serverError: ServerError? {
        if case .command(let error) = self { return error }
        return nil
    }

    /// The server's error code name, for command errors.
    public var codeName: String? { serverError?.codeName }

    /// Maps a libmongoc error (error API version 2) and an optional server reply to a case.
    static func from(_ error: UnsafePointer<bson_error_t>, reply: Document?, redactor: Redactor) -> MongoError {
        classify(
            domain: ma_error_domain(error), code: ma_error_code(error),
            message: redactor.redact(String(cString: ma_error_message(error))), reply: reply)
    }

    /// The case of a libmongoc (domain, code); the message is only carried, never matched, but for one
    /// code libmongoc uses for two causes (see `MONGOC_ERROR_STREAM_SOCKET`).
    static func classify(domain: UInt32, code: UInt32, message: String, reply: Document?) -> MongoError {
        let server = UInt32(MONGOC_ERROR_SERVER.rawValue)
        switch (domain, code) {
        case (server, 50),  // MaxTimeMSExpired
            (server, 262):  // ExceededTimeLimit
            return .timeout(message)
        case (server, 18):  // AuthenticationFailed
            return .authentication(message)
        case (server, _):
            // libmongoc reports a bulk write's first write error here too; its reply says which it was.
            let kind: ServerError.Kind = reply?["writeErrors"]?.arrayValue?.isEmpty == false ? .writeError : .command
            return .command(
                ServerError(
                    kind: kind, code: Int(code), codeName: codeName(in: reply, kind: kind), message: message,
                    labels: ServerError.labels(in: reply)))
        case (UInt32(MONGOC_ERROR_WRITE_CONCERN.rawValue), _):
            return .command(
                ServerError(
                    kind: .writeConcernError, code: Int(code), codeName: codeName(in: reply, kind: .writeConcernError),
                    message: message, labels: ServerError.labels(in: reply)))
        case (UInt32(MONGOC_ERROR_CLIENT.rawValue), UInt32(MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue)),
            (UInt32(MONGOC_ERROR_SASL.rawValue), _), (UInt32(MONGOC_ERROR_SCRAM.rawValue), _):
            return .authentication(message)
        case (UInt32(MONGOC_ERROR_SERVER_SELECTION.rawValue), _):
            return .serverSelection(message)
        case (UInt32(MONGOC_ERROR_STREAM.rawValue), UInt32(MONGOC_ERROR_STREAM_SOCKET.rawValue)):
            // libmongoc 1.23 reports a socket timeout and a broken connection under this one code, mostly with
            // one text ("socket error or timeout"); only the text can tell them apart, and then not always.
            let lowered = message.lowercased()
            return lowered.contains("timeout") || lowered.contains("timed out") ? .timeout(message) : .network(message)
        case (UInt32(MONGOC_ERROR_STREAM.rawValue), _):  // name resolution, connect, connection not established
            return .network(message)
        case (UInt32(MONGOC_ERROR_BSON.rawValue), _):
            return .invalidDocument(message)
        default:
            return .other(domain: Int(domain), code: Int(code), message: message)
        }
    }

    /// The code name of a failed reply: at its top level for command errors, in the entry of a write error
    /// or write-concern error otherwise.
    private static func codeName(in reply: Document?, kind: ServerError.Kind) -> String {
        guard let reply else { return "" }
        switch kind {
        case .command: return reply["codeName"]?.stringValue ?? ""
        case .writeError: return reply["writeErrors"]?.arrayValue?.first?.documentValue?["codeName"]?.stringValue ?? ""
        case .writeConcernError:
            let entry = reply["writeConcernError"]?.documentValue ?? reply["writeConcernErrors"]?.arrayValue?.first?.documentValue
            return entry?["codeName"]?.stringValue ?? ""
        }
    }
}

/// Removes the secrets of a connection string (as written and percent-decoded) from any text. It stands on
/// `MongoURI`: libmongoc's parse says what the secrets are; a string libmongoc refuses is still redacted,
/// by its text alone (`URIText`).
package struct Redactor: Sendable {
    /// Fragments of the connection string that hold secrets, each with its redacted form: the whole string,
    /// `user:password@`, and every `option=value` whose option is secret. Messages are redacted by these
    /// fragments only, never by the secret's bare text (a password `x` must not turn "expired" into "e*****pired").
    let fragments: [(secret: String, redacted: String)]
    /// The connection string with every secret replaced by `*****`, safe to print.
    package let redactedURI: String
    /// The secret values themselves (password, secret options), as written and decoded. Only libmongoc's
    /// debug log is redacted by these: it may quote a secret out of its URI context (lowercased, as an
    /// option name), and there a mangled word costs less than a leak.
    let secrets: [String]

    /// Options libmongoc treats as secret, beyond any whose name holds password, secret, token or key.
    static let secretOptions: Set<String> = ["authmechanismproperties", "tlscertificatekeyfilepassword", "sslclientcertificatekeypassword"]

    package init(uri: String) {
        self = (try? MongoURI(uri))?.redactor ?? Redactor(text: uri, parsed: nil)
    }

    /// The redactor of `text`, with what libmongoc read from it when it could parse it.
    init(text uri: String, parsed: MongoURI.ParsedParts?) {
        let parts = URIText(uri, splitAsLibmongoc: parsed != nil)
        var replacements: [(Range<String.Index>, String)] = []
        var secrets: [String] = parsed.map { [$0.password].compactMap { $0 } + $0.secretValues } ?? []
        if let userInfo = parts.userInfo {
            let info = uri[userInfo].dropLast()
            // A user name alone (X.509, Kerberos) is no secret; an ambiguous one is hidden with the password.
            if let colon = info.firstIndex(of: ":"), !info[..<colon].contains(where: { "/?@#".contains($0) }) {
                if info.index(after: colon) < info.endIndex {
                    secrets.append(String(info[info.index(after: colon)...]))
                    replacements.append((userInfo, info[..<colon] + ":*****@"))
                }
            } else if info.contains(where: { "@/?#:".contains($0) }) {
                secrets.append(String(info))
                replacements.append((userInfo, "*****@"))
            }
        }
        for pair in parts.query {
            let text = uri[pair]
            guard let equals = text.firstIndex(of: "=") else { continue }
            let name = text[..<equals]
            let value = text[text.index(after: equals)...]
            // An option whose name is the password (a paste gone wrong) hides its name too.
            let nameIsSecret = secrets.contains(String(name)) || secrets.contains(name.removingPercentEncoding ?? "")
            let decodedName = name.removingPercentEncoding ?? String(name)
            guard nameIsSecret || (Redactor.isSecret(option: decodedName) && !value.isEmpty) else { continue }
            if !value.isEmpty { secrets.append(String(value)) }
            replacements.append((pair, (nameIsSecret ? "*****" : name) + "=*****"))
        }
        var fragments = replacements.map { (String(uri[$0.0]), $0.1) }
        var redacted = uri
        for (range, safe) in replacements.reversed() { redacted.replaceSubrange(range, with: safe) }
        if redacted != uri { fragments.insert((uri, redacted), at: 0) }
        // Percent-decoded forms too: libmongoc may print the decoded text.
        for (secret, safe) in fragments {
            if let decoded = secret.removingPercentEncoding, decoded != secret { fragments.append((decoded, safe)) }
        }
        self.fragments = fragments
        var seen = Set<String>()
        self.secrets = secrets.flatMap { secret in [secret, secret.removingPercentEncoding].compactMap { $0 } }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
        redactedURI = redacted
    }

    static func isSecret(option: String) -> Bool {
        let name = option.lowercased()
        // A file option (tlsCertificateKeyFile, tlsCAFile) names a path, which a user needs to see in errors.
        guard !name.hasSuffix("file") else { return false }
        return secretOptions.contains(name) || ["password", "secret", "token", "key", "pwd"].contains { name.contains($0) }
    }

    /// `text` with every secret-bearing fragment of the connection string replaced by its redacted form.
    package func redact(_ text: String) -> String {
        fragments.reduce(text) { $0.replacingOccurrences(of: $1.secret, with: $1.redacted) }
    }

    /// The connection string with its secrets replaced, safe to print.
    package static func redactedURI(_ uri: String) -> String { Redactor(uri: uri).redactedURI }
}
