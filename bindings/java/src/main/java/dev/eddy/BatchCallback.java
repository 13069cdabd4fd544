package dev.eddy;

import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Receives a subscription's result batches, inside {@link Engine#poll} on the
 * polling thread. The root is lent: it is closed when the callback returns
 * (use a {@code TransferPair} or copy to keep data). The callback may call
 * back into eddy: push rows, close its subscription, even close the engine.
 */
@FunctionalInterface
public interface BatchCallback {
    void onBatch(VectorSchemaRoot batch) throws Exception;
}
