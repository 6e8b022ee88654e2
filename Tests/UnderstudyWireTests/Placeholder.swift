import Testing

@Suite struct PlaceholderWireTests {
    @Test func builds() {}
}
