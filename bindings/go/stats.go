package eddy

import (
	"encoding/json"
	"strings"
)

// Stats is the decoded eddy_engine_stats_json document (docs/c-api.md).
// Counters added by later eddy versions are ignored here and visible in
// Engine.StatsJSON.
type Stats struct {
	Closed  bool          `json:"closed"`
	Streams []StreamStats `json:"streams"`
	Queries []QueryStats  `json:"queries"`
}

// StreamStats are one stream's counters. For every stream, rows pushed =
// EventsIn + Dropped + Rejected once flushed.
type StreamStats struct {
	Name              string `json:"name"`
	EventsIn          uint64 `json:"events_in"`
	EventsOut         uint64 `json:"events_out"`
	Dropped           uint64 `json:"dropped"`
	Rejected          uint64 `json:"rejected"`
	Late              uint64 `json:"late"`
	QueueDepth        uint64 `json:"queue_depth"`
	Subscribers       uint64 `json:"subscribers"`
	SubscriberQueued  uint64 `json:"subscriber_queued"`
	SubscriberDropped uint64 `json:"subscriber_dropped"`
	// Watermark is the event-time watermark (epoch ms); nil without event
	// time or before the first row.
	Watermark *int64 `json:"watermark"`
}

// QueryStats are one continuous query's counters. LastError is nil while
// the query never failed.
type QueryStats struct {
	ID        int64   `json:"id"`
	SQL       string  `json:"sql"`
	Input     string  `json:"input"`
	Output    string  `json:"output"`
	RowsIn    uint64  `json:"rows_in"`
	RowsOut   uint64  `json:"rows_out"`
	Errors    uint64  `json:"errors"`
	LastError *string `json:"last_error"`
	// Late counts rows that reached a window already gone.
	Late       uint64 `json:"late"`
	StateBytes uint64 `json:"state_bytes"`
}

// Stream finds a stream's counters by name, case-insensitively like SQL.
func (s *Stats) Stream(name string) (StreamStats, bool) {
	for _, st := range s.Streams {
		if strings.EqualFold(st.Name, name) {
			return st, true
		}
	}
	return StreamStats{}, false
}

func decodeStats(doc string) (*Stats, error) {
	var s Stats
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return nil, newError(StatusInternal, "cannot decode the stats document: %v", err)
	}
	return &s, nil
}
