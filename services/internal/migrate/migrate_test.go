package migrate

import (
	"reflect"
	"testing"
	"testing/fstest"
)

func TestStatementsSplitAtSemicolonLineEndsAndSkipComments(t *testing.T) {
	src := "-- a comment\nCREATE TABLE a (\n  x INT -- inline stays\n);\n\n-- another\nINSERT INTO a VALUES (1);\nSELECT 1"
	got := Statements(src)
	want := []string{"CREATE TABLE a (\n  x INT -- inline stays\n)", "INSERT INTO a VALUES (1)", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestFilesAreSortedByName(t *testing.T) {
	fsys := fstest.MapFS{
		"m/002_b.sql": {Data: []byte("x")}, "m/001_a.sql": {Data: []byte("x")}, "m/readme.md": {Data: []byte("x")},
	}
	got, err := Files(fsys, "m")
	if err != nil || !reflect.DeepEqual(got, []string{"m/001_a.sql", "m/002_b.sql"}) {
		t.Fatalf("%v %v", got, err)
	}
}
