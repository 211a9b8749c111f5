import EventManagerCore
import Hummingbird

/// Per-request state: Hummingbird's core storage plus the request id we log and echo.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    /// The socket peer's IP address; nil when there is no socket (router tests).
    public let peerAddress: String?
    /// The caller its API key identifies; nil for anonymous requests.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
