package queries

import (
	"strings"
	"unicode/utf8"
)

// Nearest returns the candidate an unknown name most likely meant, for a
// "did you mean …?" hint, or "" when none is close enough to suggest. It
// compares case-insensitively: the candidate at the smallest edit distance
// (Levenshtein, in runes) wins when that distance is at most a third of the
// name's length (at least 1); failing that, the one candidate that starts
// with or contains the name (of 3 runes or more) wins. Ties go to the
// earlier candidate, so callers pass their names in a stable order.
func Nearest(name string, candidates []string) string {
	low := strings.ToLower(name)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(low, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	n := utf8.RuneCountInString(low)
	if bestDist >= 0 && bestDist <= max(1, n/3) {
		return best
	}
	if n < 3 {
		return ""
	}
	found := ""
	for _, c := range candidates {
		if strings.Contains(strings.ToLower(c), low) {
			if found != "" {
				return ""
			}
			found = c
		}
	}
	return found
}

// DidYouMean is the hint " (did you mean X?)" for an unknown name among
// candidates, X chosen by Nearest, or "" when Nearest suggests nothing:
// append it to the refusal that names the unknown name.
func DidYouMean(name string, candidates []string) string {
	if s := Nearest(name, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
