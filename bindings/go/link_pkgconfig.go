//go:build eddy_pkgconfig

package eddy

// Linking through pkg-config: the eddy.pc that cmake --install writes.

// #cgo pkg-config: eddy
import "C"
