package assets

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestICOHoldsThePNGs(t *testing.T) {
	ico, err := ICO(TrayValid, Icon)
	if err != nil {
		t.Fatal(err)
	}
	var header [3]uint16
	binary.Read(bytes.NewReader(ico), binary.LittleEndian, &header)
	if header != [3]uint16{0, 1, 2} {
		t.Fatalf("ICONDIR = %v, want reserved 0, type 1, 2 images", header)
	}
	for i, tc := range []struct {
		png  []byte
		side byte // 0 stands for 256
	}{{TrayValid, 64}, {Icon, 0}} {
		entry := ico[6+16*i : 6+16*(i+1)]
		if entry[0] != tc.side || entry[1] != tc.side {
			t.Errorf("image %d is %dx%d, want %d", i, entry[0], entry[1], tc.side)
		}
		size := binary.LittleEndian.Uint32(entry[8:])
		offset := binary.LittleEndian.Uint32(entry[12:])
		if int(offset)+int(size) > len(ico) || !bytes.Equal(ico[offset:offset+size], tc.png) {
			t.Errorf("image %d at %d+%d is not the PNG", i, offset, size)
		}
	}
}

func TestICORefusesWhatIsNotAPNG(t *testing.T) {
	if _, err := ICO([]byte("GIF89a")); err == nil {
		t.Error("ICO of a GIF header: no error")
	}
}
