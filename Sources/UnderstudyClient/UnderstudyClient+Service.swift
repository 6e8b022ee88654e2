public import ServiceLifecycle

/// A client in a swift-service-lifecycle `ServiceGroup`: it runs until the group shuts down
/// gracefully (or the task is cancelled), then shuts down — calls in flight finish or fail
/// with `shutDown`, connections close.
extension UnderstudyClient: Service {
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancelled instead of shut down gracefully: shut down all the same.
        }
        await shutdown()
    }
}
