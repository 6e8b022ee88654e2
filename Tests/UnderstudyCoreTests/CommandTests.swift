import Testing
@testable import UnderstudyCore

@Suite struct CommandTests {
    @Test func name_isFoldedToLowerCase_asciiOnly() {
        #expect(Command(arguments: [Array("GeT".utf8), Array("Key".utf8)]).name == "get")
        #expect(Command(arguments: [Array("INCRBYFLOAT".utf8)]).name == "incrbyfloat")
        // Only A–Z fold: the bytes around them, and non-ASCII letters, stay as they are.
        #expect(Command(arguments: [Array("@[Z]`".utf8)]).name == "@[z]`")
        #expect(Command(arguments: [Array("ÉCHO".utf8)]).name == "Écho")
    }

    @Test func name_ofEmptyOrLongOrInvalidBytes_matchesStringDecoding() {
        #expect(Command(arguments: [[]]).name == "")
        let long = Array("A-NAME-LONGER-THAN-FIFTEEN-BYTES".utf8)
        #expect(Command(arguments: [long]).name == "a-name-longer-than-fifteen-bytes")
        // Invalid UTF-8 is repaired (U+FFFD), as String(decoding:as:) does.
        let invalid: [UInt8] = [0x47, 0xFF, 0x45, 0xC3]
        #expect(Command(arguments: [invalid]).name == String(decoding: [0x67, 0xFF, 0x65, 0xC3] as [UInt8], as: UTF8.self))
    }

    @Test func tableIndex_pointsAtTheSpecOfThatName() {
        for (position, spec) in CommandTable.all.enumerated() {
            #expect(CommandTable.index(named: spec.name) == position, "\(spec.name)")
        }
        #expect(CommandTable.index(named: "GET") == nil)  // lookup is by the folded name
        #expect(CommandTable.index(named: "nosuchcommand") == nil)
    }
}
