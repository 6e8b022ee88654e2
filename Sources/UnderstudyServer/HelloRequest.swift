import UnderstudyCore

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`, read as Redis 7.0
/// reads it: the version first (an integer, 2 or 3), then the options in order.
///
/// Redis 7.0 carries out each option as it reads it — an AUTH that fails stops the command
/// with `-WRONGPASS`, a SETNAME before a bad option stays set — and switches the protocol
/// only when the whole command succeeded. `options` are the well-formed options before the
/// first malformed one; `error` is what that one answers, once `options` are carried out.
struct HelloRequest: Equatable {
    enum Option: Equatable {
        case auth(username: [UInt8], password: [UInt8])
        case setName([UInt8])
    }

    /// `nil`: no version given (HELLO alone answers in the current protocol).
    var protocolVersion: ProtocolVersion?
    var options: [Option] = []
    var error: Reply?

    /// The request, or the reply that refuses it before any option runs (a bad version).
    static func parse(_ arguments: [[UInt8]]) -> Result<HelloRequest, RefusedHello> {
        var request = HelloRequest(protocolVersion: nil)
        guard arguments.count > 1 else { return .success(request) }
        guard let version = RedisNumber.parseInt64(arguments[1]) else {
            return .failure(RefusedHello(reply: .error("ERR Protocol version is not an integer or out of range")))
        }
        guard let known = ProtocolVersion(rawValue: Int(truncatingIfNeeded: version)), Int64(known.rawValue) == version else {
            return .failure(RefusedHello(reply: .error("NOPROTO unsupported protocol version")))
        }
        request.protocolVersion = known
        var index = 2
        while index < arguments.count {
            let remaining = arguments.count - 1 - index
            let option = arguments[index].asciiLowercasedString
            if option == "auth", remaining >= 2 {
                request.options.append(.auth(username: arguments[index + 1], password: arguments[index + 2]))
                index += 3
            } else if option == "setname", remaining >= 1 {
                guard ClientSession.isValidName(arguments[index + 1]) else {
                    request.error = ClientSession.invalidNameReply
                    break
                }
                request.options.append(.setName(arguments[index + 1]))
                index += 2
            } else {
                request.error = .error("ERR Syntax error in HELLO option '\(String(decoding: arguments[index], as: UTF8.self))'")
                break
            }
        }
        return .success(request)
    }
}

/// A HELLO refused before anything in it was carried out.
struct RefusedHello: Error, Equatable {
    var reply: Reply
}
