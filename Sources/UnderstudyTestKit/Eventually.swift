/// Repeats `probe` until it returns true or `timeout` passes (then false), pausing 5 ms
/// between tries: for effects a server produces on its own timers (expiry, snapshots, a
/// listener coming up). A poll bounded by its deadline, not a sleep that waits for something.
public func eventually(
    timeout: Duration = .seconds(3),
    _ probe: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await probe() { return true }
        guard clock.now < deadline else { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
}
