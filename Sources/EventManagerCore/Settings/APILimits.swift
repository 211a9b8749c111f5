/// Limits on what one request may carry.
public struct APILimits: Sendable {
    public var maxBodyBytes: Int
    public var bulkMaxItems: Int

    public init(maxBodyBytes: Int = 1_048_576, bulkMaxItems: Int = 1000) {
        self.maxBodyBytes = maxBodyBytes
        self.bulkMaxItems = bulkMaxItems
    }
}
