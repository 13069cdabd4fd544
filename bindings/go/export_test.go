package eddy

// LiveCallbacks is the number of callback handles eddy has not released.
func LiveCallbacks() int64 { return liveCallbacks.Load() }
