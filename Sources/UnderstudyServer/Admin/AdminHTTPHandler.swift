public import NIOCore
public import NIOHTTP1
public import UnderstudyCore

/// What the admin port asks of its process. Each call hops to the process's own event
/// loop and reads its one state there; the handler decides nothing but the HTTP answer.
public protocol AdminBackend: Sendable {
    var isWitness: Bool { get }
    /// The process's state now (fails if its loop cannot be reached).
    func snapshot() -> EventLoopFuture<AdminSnapshot>
    /// `POST /switchover`: the planned switchover `FAILOVER` runs, to `candidate` if named.
    func switchover(candidate: String?) -> EventLoopFuture<AdminSwitchoverOutcome>
    /// The Prometheus text (nil: no registry wired; `/metrics` answers an empty body).
    var metricsExposition: (@Sendable () -> [UInt8])? { get }
    /// Who may `POST /switchover` (HTTP Basic auth) when a password is set; the health
    /// endpoints stay open for probes. Default: no password.
    var users: UserTable { get }
    /// A `POST /switchover` whose credentials were missing or wrong: log and count it as a
    /// failed authentication (never the password).
    func authenticationFailed(client: String)
}

extension AdminBackend {
    public var users: UserTable { UserTable() }
    public func authenticationFailed(client: String) {}
}

/// How a `POST /switchover` ended (Patroni's codes: 200 done, 412 refused before it
/// started — not the primary, no standby, wrong candidate — 503 started and failed).
public enum AdminSwitchoverOutcome: Hashable, Sendable {
    case done(primary: String)
    case refused(String)
    case failed(String)
}

/// One admin HTTP connection (NIOHTTP1 parses; this answers): collects a request, asks the
/// backend, writes one response and closes the connection (`Connection: close`: probes
/// and operators make one request per connection).
public final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias OutboundOut = HTTPServerResponsePart

    /// Largest request body accepted (a switchover's JSON is tens of bytes).
    static let maxBodyBytes = 16 * 1024
    /// How long the process's loop may take to answer before `/liveness` says 503.
    static let loopAnswerTimeout = TimeAmount.seconds(2)

    private let backend: any AdminBackend
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var answered = false

    public init(backend: any AdminBackend) {
        self.backend = backend
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
        case .body(var chunk):
            if body.count + chunk.readableBytes > Self.maxBodyBytes {
                answer(context: context, .error(413, "request body over \(Self.maxBodyBytes) bytes"), isHead: false)
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            guard let head, !answered else { return }
            handle(head, context: context)
        }
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let request: AdminRouter.Request
        switch AdminRouter.parse(method: head.method.rawValue, uri: head.uri, isWitness: backend.isWitness) {
        case .failure(let response):
            answer(context: context, response, isHead: head.method == .HEAD)
            return
        case .success(let parsed):
            request = parsed
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let finish: @Sendable (AdminRouter.Response) -> Void = { response in
            let (handler, context) = loopBound.value
            handler.answer(context: context, response, isHead: request.isHead)
        }
        switch request.endpoint {
        case .metrics:
            let text = backend.metricsExposition?() ?? []
            finish(AdminRouter.Response(status: 200, contentType: AdminRouter.metricsContentType, body: text))
        case .switchover:
            guard BasicAuthorization.authorizes(header: head.headers.first(name: "Authorization"), users: backend.users) else {
                backend.authenticationFailed(client: context.remoteAddress?.description ?? "?")
                finish(Self.unauthorized)
                return
            }
            switch AdminSwitchoverRequest.candidate(in: body) {
            case .failure(let response):
                finish(response)
            case .success(let candidate):
                backend.switchover(candidate: candidate).hop(to: context.eventLoop).whenComplete { result in
                    finish(AdminSwitchoverRequest.response(to: result))
                }
            }
        default:
            let timeout = context.eventLoop.scheduleTask(in: Self.loopAnswerTimeout) {
                finish(.error(503, "the process's event loop did not answer within \(Self.loopAnswerTimeout.nanoseconds / 1_000_000) ms"))
            }
            backend.snapshot().hop(to: context.eventLoop).whenComplete { result in
                timeout.cancel()
                switch result {
                case .success(let snapshot): finish(AdminRouter.respond(request, snapshot: snapshot))
                case .failure(let error): finish(.error(503, "cannot read the process's state: \(error)"))
                }
            }
        }
    }

    /// 401 for a `POST /switchover` without the right Basic credentials (docs/security.md).
    static let unauthorized = AdminRouter.Response.error(401, "POST /switchover needs the node's password: HTTP Basic auth (curl -u default:PASSWORD)")

    private func answer(context: ChannelHandlerContext, _ response: AdminRouter.Response, isHead: Bool) {
        guard !answered else { return }
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: "close")
        if response.status == 401 { headers.add(name: "WWW-Authenticate", value: "Basic realm=\"understudy\"") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !isHead, !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !answered, error is HTTPParserError {
            answer(context: context, .error(400, "malformed HTTP request: \(error)"), isHead: false)
            return
        }
        context.close(promise: nil)
    }
}

/// `POST /switchover`'s body and answer.
enum AdminSwitchoverRequest {
    /// The candidate named in `{"candidate": "HOST:PORT"}` (nil: none, or an empty body).
    /// Patroni's `leader` member is accepted and ignored (this process is the leader).
    static func candidate(in body: [UInt8]) -> Result<String?, AdminRouter.Response> {
        let text = String(decoding: body, as: UTF8.self).trimmingWhitespace
        if text.isEmpty || text == "{}" { return .success(nil) }
        guard text.hasPrefix("{"), text.hasSuffix("}") else {
            return .failure(.error(400, "the body must be a JSON object such as {\"candidate\": \"HOST:PORT\"}"))
        }
        guard let key = text.firstRange(of: "\"candidate\"") else { return .success(nil) }
        let rest = text[key.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else {
            return .failure(.error(400, "candidate must be a string, HOST:PORT"))
        }
        let candidate = String(rest[rest.index(after: rest.startIndex)..<close])
        guard ListenAddress(parsing: candidate) != nil else {
            return .failure(.error(400, "candidate must be HOST:PORT (got '\(candidate)')"))
        }
        return .success(candidate)
    }

    static func response(to result: Result<AdminSwitchoverOutcome, any Error>) -> AdminRouter.Response {
        switch result {
        case .success(.done(let primary)):
            return .json(200, .object([("status", .string("done")), ("primary", .string(primary))]))
        case .success(.refused(let message)):
            return .json(412, .object([("status", .string("refused")), ("error", .string(message))]))
        case .success(.failed(let message)):
            return .json(503, .object([("status", .string("failed")), ("error", .string(message))]))
        case .failure(let error):
            return .error(503, "the switchover could not be started: \(error)")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
