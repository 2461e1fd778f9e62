package assets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/png"
)

// ICO wraps PNG images in an ICO file, the only icon format Windows loads
// from a file (as the tray does). Each PNG becomes one entry, stored as PNG,
// which Windows reads since Vista; so Windows icons are made from the same
// images as everyone else's.
func ICO(pngs ...[]byte) ([]byte, error) {
	const headerSize, entrySize = 6, 16
	var out bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), the number of images.
	binary.Write(&out, binary.LittleEndian, [3]uint16{0, 1, uint16(len(pngs))})
	offset := headerSize + entrySize*len(pngs)
	for i, image := range pngs {
		config, err := png.DecodeConfig(bytes.NewReader(image))
		if err != nil {
			return nil, fmt.Errorf("icon image %d: %w", i, err)
		}
		if config.Width > 256 || config.Height > 256 {
			return nil, fmt.Errorf("icon image %d is %dx%d: an ICO holds 256x256 at most", i, config.Width, config.Height)
		}
		// ICONDIRENTRY: width and height (0 means 256), no palette,
		// reserved, one plane, 32 bits per pixel, size and offset.
		out.WriteByte(byte(config.Width))
		out.WriteByte(byte(config.Height))
		out.Write([]byte{0, 0})
		binary.Write(&out, binary.LittleEndian, [2]uint16{1, 32})
		binary.Write(&out, binary.LittleEndian, [2]uint32{uint32(len(image)), uint32(offset)})
		offset += len(image)
	}
	for _, image := range pngs {
		out.Write(image)
	}
	return out.Bytes(), nil
}
