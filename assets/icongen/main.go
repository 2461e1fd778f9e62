// Command icongen draws the tray icons in assets: a coloured disc per state
// with a dark outline, so it stands out on light panels, and a white or
// dark glyph, so the state reads without relying on colour alone. Run it
// through `go generate ./assets`.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

// size is drawn large and scaled down by the panel: at 16 px the outline is
// still a pixel wide.
const size = 64

// samples per pixel side, for anti-aliased edges.
const samples = 4

type point struct{ x, y float64 }

// shape reports whether a point, in units where the icon spans 0..1, is
// inside.
type shape func(p point) bool

type layer struct {
	inside shape
	colour color.NRGBA
}

func disc(cx, cy, r float64) shape {
	return func(p point) bool { return math.Hypot(p.x-cx, p.y-cy) <= r }
}

// stroke is a line segment with round caps, width w.
func stroke(a, b point, w float64) shape {
	return func(p point) bool {
		dx, dy := b.x-a.x, b.y-a.y
		t := ((p.x-a.x)*dx + (p.y-a.y)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		return math.Hypot(p.x-(a.x+t*dx), p.y-(a.y+t*dy)) <= w/2
	}
}

// arc is a ring of radius r and width w from angle from to angle to
// (radians, clockwise from twelve o'clock).
func arc(cx, cy, r, w, from, to float64) shape {
	return func(p point) bool {
		d := math.Hypot(p.x-cx, p.y-cy)
		if math.Abs(d-r) > w/2 {
			return false
		}
		a := math.Atan2(p.x-cx, cy-p.y)
		if a < 0 {
			a += 2 * math.Pi
		}
		return a >= from && a <= to
	}
}

// triangle is the area inside a, b, c.
func triangle(a, b, c point) shape {
	side := func(p, q, r point) float64 { return (p.x-r.x)*(q.y-r.y) - (q.x-r.x)*(p.y-r.y) }
	return func(p point) bool {
		d1, d2, d3 := side(p, a, b), side(p, b, c), side(p, c, a)
		neg := d1 < 0 || d2 < 0 || d3 < 0
		pos := d1 > 0 || d2 > 0 || d3 > 0
		return !(neg && pos)
	}
}

func union(shapes ...shape) shape {
	return func(p point) bool {
		for _, s := range shapes {
			if s(p) {
				return true
			}
		}
		return false
	}
}

var (
	outline = color.NRGBA{0x1b, 0x1b, 0x1f, 0xff}
	white   = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	dark    = color.NRGBA{0x2b, 0x1d, 0x00, 0xff}
)

// badge is a disc of fill inside the outline, with glyph on top.
func badge(fill color.NRGBA, glyph shape, glyphColour color.NRGBA) []layer {
	return []layer{
		{disc(0.5, 0.5, 0.48), outline},
		{disc(0.5, 0.5, 0.415), fill},
		{glyph, glyphColour},
	}
}

func main() {
	// A tick: everything is fine.
	valid := badge(color.NRGBA{0x2e, 0xa0, 0x4f, 0xff},
		union(stroke(point{0.30, 0.52}, point{0.44, 0.66}, 0.11), stroke(point{0.44, 0.66}, point{0.71, 0.37}, 0.11)), white)
	// A circular arrow: trying again by itself.
	retrying := badge(color.NRGBA{0xf5, 0xa6, 0x23, 0xff},
		union(arc(0.5, 0.5, 0.21, 0.10, 1.3, 2*math.Pi), triangle(point{0.46, 0.12}, point{0.46, 0.46}, point{0.68, 0.29})), dark)
	// An exclamation mark: you must act.
	needsYou := badge(color.NRGBA{0xd9, 0x30, 0x25, 0xff},
		union(stroke(point{0.5, 0.25}, point{0.5, 0.56}, 0.12), disc(0.5, 0.72, 0.07)), white)
	for name, layers := range map[string][]layer{
		"tray-valid.png":     valid,
		"tray-retrying.png":  retrying,
		"tray-needs-you.png": needsYou,
	} {
		if err := write(name, draw(layers)); err != nil {
			log.Fatal(err)
		}
	}
}

// draw renders the layers, each over the ones before, averaging the colours
// of the samples of a pixel.
func draw(layers []layer) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			var r, g, b, a float64
			for sy := range samples {
				for sx := range samples {
					p := point{(float64(x) + (float64(sx)+0.5)/samples) / size, (float64(y) + (float64(sy)+0.5)/samples) / size}
					for i := len(layers) - 1; i >= 0; i-- {
						if c := layers[i].colour; layers[i].inside(p) {
							r, g, b, a = r+float64(c.R), g+float64(c.G), b+float64(c.B), a+1
							break
						}
					}
				}
			}
			// The edge against the panel is hard (opaque or transparent):
			// fyne.io/systray 1.12 converts partly transparent pixels to
			// wrong colours on Linux, and the panel smooths the edge when
			// it scales the icon down anyway. Edges between layers stay
			// anti-aliased.
			if a < samples*samples/2 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(r/a + 0.5), uint8(g/a + 0.5), uint8(b/a + 0.5), 0xff})
		}
	}
	return img
}

func write(name string, img image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
