import Testing

@Suite struct PlaceholderStorageTests {
    @Test func builds() {}
}
