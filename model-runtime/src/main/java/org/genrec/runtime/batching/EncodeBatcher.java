package org.genrec.runtime.batching;

import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.EncodedRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Cross-request micro-batching of the encode graph: callers block in {@link #encode} while one
 * dispatcher thread collects requests — the first one waits at most {@code maxDelayMicros} for
 * others, up to {@code maxBatch} — and runs them as one graph call.
 *
 * <p>One dispatcher on purpose: on a GPU the calls are serialized on the device anyway, and a
 * single thread is what makes the batches form. A failed batch fails each of its callers with
 * the same error and the dispatcher goes on with the next batch.
 */
public final class EncodeBatcher implements AutoCloseable {

    /** Encodes a whole batch; result i belongs to request i. */
    @FunctionalInterface
    public interface BatchEncoder {
        List<UserEncoding> encode(List<EncodedRequest> batch);
    }

    private record Pending(EncodedRequest request, CompletableFuture<UserEncoding> result) {}

    private static final String CLOSED = "the encode batcher is closed (model unloaded)";

    private final BatchEncoder encoder;
    private final int maxBatch;
    private final long maxDelayNanos;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread dispatcher;
    private volatile boolean closed;

    public EncodeBatcher(String name, BatchEncoder encoder, int maxBatch, long maxDelayMicros) {
        this.encoder = encoder;
        this.maxBatch = maxBatch;
        this.maxDelayNanos = TimeUnit.MICROSECONDS.toNanos(maxDelayMicros);
        this.dispatcher = new Thread(this::dispatch, "genrec-encode-batcher[" + name + "]");
        this.dispatcher.setDaemon(true);
        this.dispatcher.start();
    }

    /** Encodes {@code request} in the next batch; blocks until that batch has run. */
    public UserEncoding encode(EncodedRequest request) {
        if (closed) {
            throw new IllegalStateException(CLOSED);
        }
        CompletableFuture<UserEncoding> result = new CompletableFuture<>();
        queue.add(new Pending(request, result));
        if (closed) { // raced with close(): make sure nobody waits on a queue that is no longer drained
            failRemaining();
        }
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the encode batch", e);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    private void dispatch() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        while (!closed) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                long deadline = System.nanoTime() + maxDelayNanos;
                while (batch.size() < maxBatch) {
                    Pending next = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                }
            } catch (InterruptedException e) {
                // close() interrupts; run what was collected, then the loop sees closed
            }
            run(batch);
            batch.clear();
        }
        failRemaining();
    }

    private void run(List<Pending> batch) {
        if (batch.isEmpty()) {
            return;
        }
        List<EncodedRequest> requests = new ArrayList<>(batch.size());
        batch.forEach(p -> requests.add(p.request()));
        try {
            List<UserEncoding> results = encoder.encode(requests);
            if (results.size() != batch.size()) {
                throw new IllegalStateException("batch encoder returned " + results.size() + " results for " + batch.size() + " requests");
            }
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).result().complete(results.get(i));
            }
        } catch (RuntimeException | Error e) {
            batch.forEach(p -> p.result().completeExceptionally(e));
        }
    }

    private void failRemaining() {
        Pending p;
        while ((p = queue.poll()) != null) {
            p.result().completeExceptionally(new IllegalStateException(CLOSED));
        }
    }

    /** The batch's own exception (completeExceptionally stores it unwrapped). */
    private static RuntimeException rethrow(Throwable cause) {
        if (cause instanceof RuntimeException runtime) {
            return runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(cause);
    }

    /** Stops the dispatcher after the batch in progress; requests still queued fail. */
    @Override
    public void close() {
        closed = true;
        dispatcher.interrupt();
        try {
            dispatcher.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        failRemaining();
    }
}
