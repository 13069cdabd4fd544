package eddy

// #include "bridge.h"
import "C"

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Type mirrors eddy_type: the SQL type of a stream column.
type Type int

// Column types. Their Arrow types are those of ArrowType.
const (
	TypeInvalid   Type = C.EDDY_TYPE_INVALID
	TypeBool      Type = C.EDDY_TYPE_BOOL
	TypeInt       Type = C.EDDY_TYPE_INT
	TypeBigint    Type = C.EDDY_TYPE_BIGINT
	TypeFloat     Type = C.EDDY_TYPE_FLOAT
	TypeDouble    Type = C.EDDY_TYPE_DOUBLE
	TypeString    Type = C.EDDY_TYPE_STRING
	TypeTimestamp Type = C.EDDY_TYPE_TIMESTAMP
)

var typeNames = [...]string{"INVALID", "BOOL", "INT", "BIGINT", "FLOAT", "DOUBLE", "STRING", "TIMESTAMP"}

// String is the SQL name of the type.
func (t Type) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "INVALID"
}

// TimestampType is the Arrow type of TIMESTAMP columns: milliseconds since
// the Unix epoch, without a time zone.
var TimestampType = &arrow.TimestampType{Unit: arrow.Millisecond}

// ArrowType is the Arrow type eddy uses for t (nil for TypeInvalid).
func (t Type) ArrowType() arrow.DataType {
	switch t {
	case TypeBool:
		return arrow.FixedWidthTypes.Boolean
	case TypeInt:
		return arrow.PrimitiveTypes.Int32
	case TypeBigint:
		return arrow.PrimitiveTypes.Int64
	case TypeFloat:
		return arrow.PrimitiveTypes.Float32
	case TypeDouble:
		return arrow.PrimitiveTypes.Float64
	case TypeString:
		return arrow.BinaryTypes.String
	case TypeTimestamp:
		return TimestampType
	}
	return nil
}

// Header version: the eddy.h this package was compiled against.
const (
	HeaderVersionMajor = C.EDDY_VERSION_MAJOR
	HeaderVersionMinor = C.EDDY_VERSION_MINOR
	HeaderVersionPatch = C.EDDY_VERSION_PATCH
)

// Version is the "MAJOR.MINOR.PATCH" of the linked library.
func Version() string {
	return C.GoString(C.eddy_version_string())
}

var versionCheck = sync.OnceValue(func() error {
	n := uint32(C.eddy_version_number())
	major, minor := n/1000000, n/1000%1000
	// Before 1.0 a minor release may break the ABI too.
	if major != HeaderVersionMajor || (major == 0 && minor != HeaderVersionMinor) {
		return newError(StatusInvalidArgument,
			"linked library %s does not match the header %d.%d.%d this package was built with",
			Version(), HeaderVersionMajor, HeaderVersionMinor, HeaderVersionPatch)
	}
	return nil
})

// LiveBatches is the number of result batches eddy has handed to Go (by
// Subscription.Next or to callbacks) whose memory has not yet gone back to
// eddy: records not yet released, across all engines. Tests can check it
// returns to its earlier value to find a missing Release.
func LiveBatches() int64 {
	return int64(C.eddy_go_live_batches())
}
