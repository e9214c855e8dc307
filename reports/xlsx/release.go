package xlsx

import (
	"bytes"
	"reflect"
	"unsafe"

	"github.com/xuri/excelize/v2"
)

// releaseStreamBuffer drops the in-memory chunk buffer a flushed
// StreamWriter keeps until the workbook is written, and reports whether it
// did.
//
// excelize's StreamWriter spills its rows to a temporary file in 16 MB
// chunks, but after Flush it keeps the (emptied) chunk buffer, up to 32 MB
// of capacity, referenced from the File until File.Write. One per detail
// sheet, that would grow the renderer's memory by 16–40 MB for every
// further 1,048,575 rows. excelize has no API to release it, so this
// reaches into StreamWriter.rawData (a bufferedWriter{tmp *os.File, buf
// bytes.Buffer}) and resets buf only when everything has gone to the
// temporary file (tmp set, buf empty): File.Write then reads the sheet
// from that file alone. If excelize's layout changes it does nothing (and
// TestReleaseStreamBuffer fails).
func releaseStreamBuffer(sw *excelize.StreamWriter) bool {
	raw := reflect.ValueOf(sw).Elem().FieldByName("rawData")
	if raw.Kind() != reflect.Struct {
		return false
	}
	tmp, buf := raw.FieldByName("tmp"), raw.FieldByName("buf")
	if tmp.Kind() != reflect.Pointer || tmp.IsNil() || !buf.IsValid() || buf.Type() != reflect.TypeFor[bytes.Buffer]() {
		return false
	}
	b := (*bytes.Buffer)(unsafe.Pointer(buf.UnsafeAddr()))
	if b.Len() != 0 {
		return false
	}
	*b = bytes.Buffer{}
	return true
}
