import Testing
import UnderstudyConfiguration

@Suite struct KeySuggestionTests {
    let keys = ["data-dir", "listen", "fsync", "lease", "failure-timeout", "max-lag-on-failover", "max-connections"]

    @Test func editDistance_countsInsertionsDeletionsAndSubstitutions() {
        #expect(KeySuggestion.editDistance("", "abc") == 3)
        #expect(KeySuggestion.editDistance("lease", "lease") == 0)
        #expect(KeySuggestion.editDistance("fsyn", "fsync") == 1)
        #expect(KeySuggestion.editDistance("kitten", "sitting") == 3)
    }

    @Test func nearest_toTypo_isTheIntendedKey() {
        #expect(KeySuggestion.nearest(to: "fsnyc", among: keys) == "fsync")
        #expect(KeySuggestion.nearest(to: "data_dir", among: keys) == "data-dir")
        #expect(KeySuggestion.nearest(to: "listn", among: keys) == "listen")
    }

    @Test func nearest_toShortenedTypo_isTheLongKeyItBegins() {
        #expect(KeySuggestion.nearest(to: "max-lagg", among: keys) == "max-lag-on-failover")
        #expect(KeySuggestion.nearest(to: "failure-timout", among: keys) == "failure-timeout")
    }

    @Test func nearest_toUnrelatedWord_isNil() {
        #expect(KeySuggestion.nearest(to: "password", among: keys) == nil)
        #expect(KeySuggestion.nearest(to: "xyz", among: keys) == nil)
    }
}
