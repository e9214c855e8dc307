package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"
)

// TestFormulaSafe: text that a spreadsheet would read as a formula gets a
// leading '; numbers, however they start, stay as they are.
func TestFormulaSafe(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"}, {"+1", "'+1"}, {"-2+3", "'-2+3"}, {"@a", "'@a"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"a=b", "a=b"}, {"", ""}, {"'quoted", "'quoted"},
		{[]string{"=x", "y"}, "'=x;y"}, {int64(-5), "-5"}, {-1.5, "-1.5"}, {int32(-7), "-7"},
		{math.Inf(-1), "'-Inf"}, {math.Inf(1), "'+Inf"},
	} {
		k := String
		if _, ok := c.v.([]string); ok {
			k = List
		}
		text := Text(k, c.v)
		if f, ok := c.v.(float64); ok && math.IsInf(f, 0) {
			text = map[bool]string{true: "+Inf", false: "-Inf"}[f > 0]
		}
		if got := FormulaSafe(c.v, text); got != c.want {
			t.Errorf("FormulaSafe(%#v, %q) = %q, want %q", c.v, text, got, c.want)
		}
	}
}

// TestCSVDigestCoversNeutralisedCells: the recorded SHA-256 of a csv with a
// neutralised cell is the digest of the file, and DetailHasher agrees.
func TestCSVDigestCoversNeutralisedCells(t *testing.T) {
	cols := []Column{{Name: "recipient_id", Kind: String}, {Name: "n", Kind: Int}}
	rows := [][]any{{"=cmd|'/c calc'!A0", int64(-5)}}
	var buf bytes.Buffer
	res, err := CSV().Render(context.Background(), &buf, Input{Columns: cols, Rows: &sliceRows{rows: rows}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "recipient_id,n\n'=cmd|'/c calc'!A0,-5\n"; buf.String() != want {
		t.Fatalf("csv %q, want %q", buf.String(), want)
	}
	sum := sha256.Sum256(buf.Bytes())
	h := NewDetailHasher(cols)
	h.Add(cols, rows[0])
	if file := hex.EncodeToString(sum[:]); res.SHA256 != file || h.Sum() != file {
		t.Errorf("digests: result %s, hasher %s, file %s", res.SHA256, h.Sum(), file)
	}
}
