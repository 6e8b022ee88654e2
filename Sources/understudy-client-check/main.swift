// `understudy-client-check`: drives one `UnderstudyClient` with many concurrent callers and
// prints what it saw as one JSON line, for the fault tests in tests/test_client.py.
import ArgumentParser

/// An async context, so that `main()` resolves to `AsyncParsableCommand`'s: top-level code
/// would pick `ParsableCommand`'s synchronous one, which cannot run an async command.
func runCommand() async {
    await ClientCheckCommand.main()
}

await runCommand()
