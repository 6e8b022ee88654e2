/// "did you mean …?" for a misspelt key: the nearest known key by edit distance, if it is
/// near enough to be a typo rather than a different word.
public enum KeySuggestion {
    /// The candidate closest to `key` (as a whole or by its first `key.count` characters),
    /// or nil when none is within a third of its length (at least 2 edits). Ties go to the
    /// first candidate, so the answer is stable.
    public static func nearest(to key: String, among candidates: [String]) -> String? {
        let allowedEdits = max(2, key.count / 3)
        var best: (candidate: String, edits: Int)?
        for candidate in candidates {
            // A key cut short and then mistyped (`max-lagg` for `max-lag-on-failover`) is
            // near the candidate's beginning rather than the whole of it.
            let prefixEdits = key.count >= 4 ? editDistance(key, String(candidate.prefix(key.count))) : Int.max
            let edits = min(editDistance(key, candidate), prefixEdits)
            if edits <= allowedEdits, edits < best?.edits ?? Int.max { best = (candidate, edits) }
        }
        return best?.candidate
    }

    /// Levenshtein distance: insertions, deletions and substitutions of characters.
    public static func editDistance(_ left: String, _ right: String) -> Int {
        let left = Array(left), right = Array(right)
        if left.isEmpty { return right.count }
        var previous = Array(0...right.count)
        var current = previous
        for leftIndex in 1...left.count {
            current[0] = leftIndex
            for rightIndex in stride(from: 1, through: right.count, by: 1) {
                let substitution = previous[rightIndex - 1] + (left[leftIndex - 1] == right[rightIndex - 1] ? 0 : 1)
                current[rightIndex] = min(substitution, previous[rightIndex] + 1, current[rightIndex - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }
}
