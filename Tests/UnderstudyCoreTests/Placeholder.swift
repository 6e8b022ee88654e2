import Testing

@Suite struct PlaceholderCoreTests {
    @Test func builds() {}
}
