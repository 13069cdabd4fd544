//go:build !eddy_pkgconfig

package eddy

// Default linking: -leddy from the compiler's search path (an install under
// /usr/local or /usr) or from CGO_CFLAGS / CGO_LDFLAGS (an in-tree build; see
// README.md). Build with -tags eddy_pkgconfig to ask pkg-config instead.

// #cgo LDFLAGS: -leddy -lm -ldl -lpthread
import "C"
