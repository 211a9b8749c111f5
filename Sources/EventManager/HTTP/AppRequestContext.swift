import Hummingbird

/// Per-request state: Hummingbird's core storage plus the request id we log and echo.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
